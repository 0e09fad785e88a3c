// HTTPS with client certificates: the SOAP endpoint takes calls only from a certificate signed by
// TLS_CLIENT_CA whose subject CN is listed in TLS_ALLOWED_CLIENTS; the other routes stay reachable.
import fs from 'node:fs';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import {
  engagement,
  notificationEnvelope,
  PROCESS_NOTIFICATION_SOAP_ACTION,
  readAnswer,
  TEST_SOURCE_SYSTEM,
} from '../helpers/soap.js';
import { makeCertificates, type TestCertificates } from './certificates.js';

let certificates: TestCertificates;
let t: TestApp;

function call(
  url: string,
  client: { cert: string; key: string } | undefined,
  path = '/ProcessNotification/1/rivtabp21',
): Promise<{ status: number; text: string } | { error: string }> {
  const body = notificationEnvelope([engagement({ businessObjectInstanceIdentifier: 'TLS-1' })]);
  return new Promise((resolve) => {
    const request = https.request(
      `${url}${path}`,
      {
        method: path === '/healthz' ? 'GET' : 'POST',
        ca: fs.readFileSync(certificates.ca),
        ...(client ? { cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) } : {}),
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: PROCESS_NOTIFICATION_SOAP_ACTION },
        agent: false,
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    request.end(path === '/healthz' ? undefined : body);
  });
}

beforeAll(async () => {
  certificates = makeCertificates();
  t = await startTestApp({
    TLS_CERT: certificates.serverCert,
    TLS_KEY: certificates.serverKey,
    TLS_CLIENT_CA: certificates.ca,
    TLS_ALLOWED_CLIENTS: 'ntjp.example.se,other-platform',
  });
  await t.activate(TEST_SOURCE_SYSTEM);
}, 60_000);

afterAll(async () => {
  await t?.close();
  if (certificates) fs.rmSync(certificates.dir, { recursive: true, force: true });
});

describe('mTLS on the SOAP endpoint', () => {
  it('When the platform calls with its listed certificate, then the call is taken', async () => {
    expect(t.url).toMatch(/^https:/);
    const answer = await call(t.url, certificates.client('ntjp.example.se'));
    expect('status' in answer && answer.status).toBe(200);
    expect(readAnswer(200, null, (answer as { text: string }).text).resultCode).toBe('OK');
  });

  it('When a client calls without a certificate, with an unlisted one, or with one the CA did not sign, then it gets a soap:Client fault and nothing is stored', async () => {
    const before = t.logs.length;
    for (const client of [
      undefined,
      certificates.client('intruder.example.se'),
      certificates.client('ntjp.example.se', { rogue: true }),
    ]) {
      const answer = await call(t.url, client);
      expect(answer).toMatchObject({ status: 403 });
      const fault = readAnswer(403, null, (answer as { text: string }).text);
      expect(fault.faultcode).toBe('soap:Client');
      expect(fault.faultstring).toMatch(/^Forbidden: /);
    }
    const refusals = t.logs.slice(before).filter((line) => line.msg === 'call refused: client certificate');
    expect(refusals.map((line) => line.reason)).toEqual(['no-certificate', 'not-allowed', 'no-certificate']);
    const metrics = (await await call(t.url, undefined, '/healthz')) as { status: number };
    expect(metrics.status).toBe(200);
    const { rows } = await import('../../src/db/database.js');
    const { sql } = await import('drizzle-orm');
    const [row] = await rows<{ n: number }>(t.database.orm, sql`select count(*)::int as n from notification_call`);
    expect(Number(row!.n)).toBe(1);
  });

  it('When a client speaks plain HTTP to the HTTPS port, then nothing is answered in clear', async () => {
    const plain = await fetch(t.url.replace('https:', 'http:') + '/ProcessNotification/1/rivtabp21', {
      method: 'POST',
      body: 'x',
    })
      .then((r) => r.status)
      .catch(() => 'refused');
    expect(plain === 'refused' || plain === 400).toBe(true);
  });
});
