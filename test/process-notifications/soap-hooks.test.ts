// The contract with the soap package's private hooks that soap-endpoint.ts replaces (`Server._process`,
// `Server._sendError`, `Server.wsdl.xmlToObject`): on a real soap server over real HTTP, each hook is
// still there and is still called the way the endpoint relies on; and without one, mounting fails clearly.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import soap from 'soap';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging.js';
import {
  checkSoapHooks,
  mountProcessNotification,
  SoapHooksMissing,
  type EndpointDependencies,
} from '../../src/process-notifications/soap-endpoint.js';
import { engagement, notificationEnvelope, postNotification } from '../helpers/soap.js';

const WSDL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../wsdl/process-notification');
const BODY_ONLY_WSDL = path.join(WSDL_DIR, 'ProcessNotificationInteraction_body-only.wsdl');
const PATH = '/ProcessNotification/1/rivtabp21';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listening(app: express.Express): Promise<string> {
  const server = http.createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A bare soap server for the body-only WSDL whose operation answers OK. */
async function soapServer(app: express.Express): Promise<unknown> {
  const services = {
    ProcessNotificationResponderService: {
      ProcessNotificationResponderPort: { ProcessNotification: () => ({ ResultCode: 'OK' }) },
    },
  };
  return new Promise((resolve, reject) => {
    const created = soap.listen(app, {
      path: PATH,
      services,
      xml: fs.readFileSync(BODY_ONLY_WSDL, 'utf8'),
      uri: BODY_ONLY_WSDL,
      suppressStack: true,
      callback: (error: unknown) => (error ? reject(error) : resolve(created)),
    });
  });
}

describe('soap private hooks (the installed version)', () => {
  it('has each hook the endpoint replaces', async () => {
    const server = await soapServer(express());
    expect(() => checkSoapHooks(server)).not.toThrow();
  });

  it('a request goes through _process(input, req, res, callback), which parses with wsdl.xmlToObject', async () => {
    const app = express();
    const server = checkSoapHooks(await soapServer(app));
    const seen: string[] = [];
    const original = server.wsdl.xmlToObject.bind(server.wsdl);
    server.wsdl.xmlToObject = (xml: string) => {
      seen.push(`xmlToObject:${xml.includes('ProcessNotification')}`);
      return original(xml);
    };
    const process = server._process.bind(server);
    server._process = (input, req, res, callback) => {
      seen.push(`_process:${typeof input}:${typeof req.headers}:${typeof res.setHeader}:${typeof callback}`);
      process(input, req, res, callback);
    };
    const answer = await postNotification(await listening(app), notificationEnvelope([engagement()]));
    expect(seen).toEqual(['_process:string:object:function:function', 'xmlToObject:true']);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('OK');
  });

  it('_sendError(fault, callback) answers a SOAP 1.1 fault with the fault statusCode', async () => {
    const server = checkSoapHooks(await soapServer(express()));
    const answer = await new Promise<{ xml: string; status: number | undefined }>((resolve) =>
      server._sendError({ faultcode: 'soap:Client', faultstring: 'refused here', statusCode: 500 }, (xml, status) =>
        resolve({ xml, status }),
      ),
    );
    expect(answer.status).toBe(500);
    expect(answer.xml).toContain('http://schemas.xmlsoap.org/soap/envelope/');
    expect(answer.xml).toMatch(/<faultcode>soap:Client<\/faultcode>/);
    expect(answer.xml).toMatch(/<faultstring>refused here<\/faultstring>/);
  });
});

describe('checkSoapHooks', () => {
  it('names each hook that is gone', () => {
    const complete = {
      _process: (_a: unknown, _b: unknown, _c: unknown, _d: unknown) => {},
      _sendError: (_a: unknown, _b: unknown) => {},
      wsdl: { xmlToObject: (_a: unknown) => {} },
    };
    expect(() => checkSoapHooks(complete)).not.toThrow();
    expect(() => checkSoapHooks({ ...complete, _process: undefined })).toThrow(/Server\._process/);
    expect(() => checkSoapHooks({ ...complete, _sendError: () => {} })).toThrow(/Server\._sendError/);
    expect(() => checkSoapHooks({ ...complete, wsdl: {} })).toThrow(/Server\.wsdl\.xmlToObject/);
    expect(() => checkSoapHooks({})).toThrow(SoapHooksMissing);
  });

  it('mounting the endpoint fails clearly when soap has lost a hook', async () => {
    const prototype = soap.Server.prototype as unknown as Record<string, unknown>;
    const saved = prototype._sendError;
    delete prototype._sendError;
    try {
      const deps = { log: createLogger({ level: 'silent' }) } as unknown as EndpointDependencies;
      await expect(mountProcessNotification(express(), deps)).rejects.toThrow(
        /soap package no longer has Server\._sendError/,
      );
    } finally {
      prototype._sendError = saved;
    }
  });
});
