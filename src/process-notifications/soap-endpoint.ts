// POST /ProcessNotification/1/rivtabp21: the SOAP entry point EI calls, on express with the soap package.
//
// Three things the soap package (1.13) gets wrong for RIVTA, handled here:
// - A WSDL whose input message also binds the LogicalAddress header part makes the server answer every
//   correct call with a TypeError fault. soap is given a WSDL with only the body part; the complete
//   WSDL is what `?wsdl` serves, and LogicalAddress is read from the parsed header.
// - Errors it does not expect come out as a stack trace in plain text, or as a SOAP 1.2 fault. Every
//   error here is turned into a SOAP 1.1 Fault (`{ Fault: { faultcode, faultstring } }`) before soap sees it.
// - Its parser (sax-js) is slow and namespace-blind; the strict saxes reader in envelope-parser.ts
//   takes its place (`wsdl.xmlToObject`).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import soap from 'soap';
import type { Logger } from 'pino';
import { escapeXmlAttribute, publicBaseUrlOf } from '../http/index.js';
import { EnvelopeError } from './envelope-parser.js';
import { createParsePool, POOL_MIN_BYTES } from './parse-pool.js';
import { prepareNotification, type PreparedNotification } from './prepare.js';
import {
  receiveNotification,
  SoapFault,
  type ReceiveDependencies,
  type ReceiveOutcome,
} from './receive-notification.js';

export const PROCESS_NOTIFICATION_PATH = '/ProcessNotification/1/rivtabp21';
/** The national platform's own limit on a message. */
export const MAX_BODY_BYTES = 15 * 1024 * 1024;

const WSDL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../wsdl/process-notification');
const COMPLETE_WSDL = 'ProcessNotificationInteraction_1.0_RIVTABP21.wsdl';
const BODY_ONLY_WSDL = 'ProcessNotificationInteraction_body-only.wsdl';
/** The schemas `?xsd=` serves: the official RIVTA files, by their official names. */
const SCHEMAS = new Set([
  'ProcessNotificationResponder_1.0.xsd',
  'itintegration_engagementindex_1.0.xsd',
  'itintegration_registry_1.0.xsd',
]);

export interface EndpointDependencies extends ReceiveDependencies {
  log: Logger;
  /** PUBLIC_BASE_URL: the base of the WSDL's soap:address and schema locations; unset: a plain Host header. */
  publicBaseUrl?: string | undefined;
  /** Told of every stored call (metrics, tests). */
  onReceived?: (outcome: ReceiveOutcome) => void;
  /** Told of every refused call. */
  onRefused?: (fault: SoapFault) => void;
  /**
   * INGEST_THREADS: threads that read and check calls off the main thread (parse-pool.ts); 0 or unset:
   * the main thread does it.
   */
  ingestThreads?: number;
}

/** The mounted endpoint: close() ends its ingest threads (after the HTTP server stopped taking calls). */
export interface ProcessNotificationEndpoint {
  close(): Promise<void>;
}

interface FaultBody {
  Fault: { faultcode: string; faultstring: string; statusCode: number };
}

function toFault(fault: SoapFault): FaultBody {
  // SOAP 1.1 over HTTP: a fault is answered with status 500.
  return { Fault: { faultcode: `soap:${fault.faultcode}`, faultstring: fault.message, statusCode: 500 } };
}

// What the request pipeline hands from the body reader to the soap server.
interface IngestRequest extends Request {
  refusal?: SoapFault;
  /** The call as an ingest thread read and checked it. */
  prepared?: PreparedNotification;
  correlationId?: string;
  startedAt?: number;
}

// The soap Server's internals this module hooks into (private in its typings). package.json pins soap
// to a patch range (~1.13) for them; checkSoapHooks stops the start if an upgrade moved them anyway, and
// test/process-notifications/soap-hooks.test.ts holds the contract (what each hook must still do).
export interface SoapServerInternals {
  wsdl: { xmlToObject(xml: string): unknown };
  _process(input: string, req: Request, res: Response, callback: (xml: string, status?: number) => void): void;
  _sendError(fault: FaultBody['Fault'], callback: (xml: string, status?: number) => void): void;
}

export class SoapHooksMissing extends Error {
  override name = 'SoapHooksMissing';
}

/** The soap server still has each hook this module replaces, as a function taking the expected arguments. */
export function checkSoapHooks(server: unknown): SoapServerInternals {
  const candidate = server as Partial<Record<string, unknown>> & { wsdl?: Partial<Record<string, unknown>> };
  const hooks: [string, unknown, number][] = [
    ['Server._process', candidate._process, 4],
    ['Server._sendError', candidate._sendError, 2],
    ['Server.wsdl.xmlToObject', candidate.wsdl?.xmlToObject, 1],
  ];
  const changed = hooks
    .filter(([, hook, arity]) => typeof hook !== 'function' || (hook as (...args: unknown[]) => unknown).length < arity)
    .map(([name]) => name);
  if (changed.length > 0) {
    throw new SoapHooksMissing(
      `the soap package no longer has ${changed.join(', ')} as ProcessNotification expects (soap-endpoint.ts); ` +
        'keep soap at the version in package.json or adapt the hooks',
    );
  }
  return server as SoapServerInternals;
}

export async function mountProcessNotification(
  app: Express,
  deps: EndpointDependencies,
): Promise<ProcessNotificationEndpoint> {
  const pool = deps.ingestThreads && deps.ingestThreads > 0 ? createParsePool(deps.ingestThreads) : undefined;
  app.get(PROCESS_NOTIFICATION_PATH, (req, res, next) => {
    const query = req.query;
    if ('wsdl' in query) return void serveWsdl(req, res);
    const xsd = typeof query.xsd === 'string' ? query.xsd : undefined;
    if (xsd !== undefined) {
      if (!SCHEMAS.has(xsd)) return void res.status(404).type('text/plain').send('No such schema\n');
      res
        .type('application/xml')
        .send(withServedLocations(fs.readFileSync(path.join(WSDL_DIR, xsd), 'utf8'), selfUrl(req)));
      return;
    }
    next();
  });

  const readRaw = express.raw({ type: () => true, limit: MAX_BODY_BYTES, inflate: true });
  app.post(PROCESS_NOTIFICATION_PATH, (req: IngestRequest, res, next: NextFunction) => {
    req.startedAt = performance.now();
    const platformId = req.get('x-skltp-correlation-id');
    // The app's request logging may have given the request its id already (src/operations/request-log.ts).
    const assigned = (res.locals as { correlationId?: unknown }).correlationId;
    req.correlationId =
      typeof assigned === 'string' ? assigned : platformId && platformId.length <= 128 ? platformId : randomUUID();
    res.setHeader('x-correlation-id', req.correlationId);
    const hand = (refusal: SoapFault | undefined) => {
      if (refusal) {
        req.refusal = refusal;
        // soap reads the stream itself when the body is empty; a placeholder keeps it on our path.
        req.body = ' ';
      }
      // soap echoes the request's content type; a SOAP 1.1 answer is text/xml.
      req.headers['content-type'] = 'text/xml; charset=utf-8';
      next();
    };
    // SOAP 1.1 is text/xml and nothing else. A browser can post text/plain, forms and multipart across
    // sites without asking anyone: those are refused before a byte of the body is read.
    const contentTypeRefusal = soap11ContentTypeRefusal(req.get('content-type'));
    if (contentTypeRefusal) return hand(contentTypeRefusal);
    // A declared size over the limit is refused at once, without reading the body: body-parser would
    // first read it all (and throw it away). Node discards the unread rest once the answer is sent.
    const declared = Number(req.get('content-length'));
    if (declared > MAX_BODY_BYTES && !req.get('content-encoding')) {
      return hand(bodyRefusal({ type: 'entity.too.large' }));
    }
    readRaw(req, res, (error?: unknown) => {
      if (error) return hand(bodyRefusal(error));
      const body: unknown = req.body;
      if (!pool || !Buffer.isBuffer(body) || body.length < POOL_MIN_BYTES) return hand(decodeBody(req));
      // Decoding, reading and checking on an ingest thread; the main thread meanwhile serves other calls.
      pool.prepare(body).then(
        (notification) => {
          req.prepared = notification;
          // soap wants a body to hand to _process; the hook below gives it the prepared call instead.
          req.body = ' ';
          hand(undefined);
        },
        (failure: unknown) =>
          hand(
            failure instanceof EnvelopeError
              ? new SoapFault(failure.faultcode, failure.message)
              : new SoapFault('Server', 'The notification could not be read; please retry', { cause: failure }),
          ),
      );
    });
  });

  const services = {
    ProcessNotificationResponderService: {
      ProcessNotificationResponderPort: {
        ProcessNotification: async (args: unknown, _callback: unknown, _headers: unknown, req: IngestRequest) => {
          try {
            const outcome = await receiveNotification(deps, args as PreparedNotification, req.correlationId);
            deps.log.info(
              {
                correlationId: req.correlationId,
                callId: outcome.result.callId,
                ...outcome.counts,
                ms: Math.round(performance.now() - (req.startedAt ?? 0)),
              },
              'ProcessNotification stored',
            );
            deps.onReceived?.(outcome);
            return outcome.answer;
          } catch (error) {
            throw toFault(refuse(deps, req, error));
          }
        },
      },
    },
  };

  const server = await new Promise<SoapServerInternals>((resolve, reject) => {
    const created = soap.listen(app, {
      path: PROCESS_NOTIFICATION_PATH,
      services,
      xml: fs.readFileSync(path.join(WSDL_DIR, BODY_ONLY_WSDL), 'utf8'),
      // Relative schemaLocations in the WSDL resolve against this.
      uri: path.join(WSDL_DIR, BODY_ONLY_WSDL),
      suppressStack: true,
      callback: (error: unknown) => {
        if (error) return reject(error);
        try {
          resolve(checkSoapHooks(created));
        } catch (changed) {
          reject(changed);
        }
      },
    });
  });

  // The call an ingest thread prepared, handed from the _process hook below to xmlToObject (soap calls
  // it synchronously at the start of _process).
  let handed: PreparedNotification | undefined;
  server.wsdl.xmlToObject = (xml: string) => {
    // EnvelopeError propagates to the _process hook below, which answers it as a fault.
    const notification = handed ?? prepareNotification(xml);
    handed = undefined;
    return { Header: { LogicalAddress: notification.logicalAddress }, Body: { ProcessNotification: notification } };
  };
  const process = server._process.bind(server);
  server._process = (input, req, res, callback) => {
    const ingestRequest = req as IngestRequest;
    try {
      if (ingestRequest.refusal) throw ingestRequest.refusal;
      // The body decides the operation (the parser accepts only ProcessNotification). soap would
      // dispatch on any other SOAPAction value by name and fail with a SOAP 1.2 TypeError fault.
      delete req.headers.soapaction;
      handed = ingestRequest.prepared;
      process(input, req, res, callback);
    } catch (error) {
      // Answered here rather than thrown: soap's own catch would add a WS-Security timestamp header.
      const fault = (error as Partial<FaultBody>).Fault ?? toFault(refuse(deps, ingestRequest, error)).Fault;
      server._sendError(fault, callback);
    } finally {
      handed = undefined;
    }
  };

  /** This endpoint's address, for soap:address and the ?xsd= URLs. */
  function selfUrl(req: Request): string {
    // Never the Host header as given: PUBLIC_BASE_URL, or a plain host name; escaped for the attribute anyway.
    return escapeXmlAttribute(`${publicBaseUrlOf(req, deps.publicBaseUrl)}${PROCESS_NOTIFICATION_PATH}`);
  }

  function serveWsdl(req: Request, res: Response): void {
    const self = selfUrl(req);
    const wsdl = withServedLocations(fs.readFileSync(path.join(WSDL_DIR, COMPLETE_WSDL), 'utf8'), self).replace(
      /<soap:address location="[^"]*"/,
      `<soap:address location="${self}"`,
    );
    res.type('application/xml').send(wsdl);
  }

  return {
    async close() {
      await pool?.close();
    },
  };
}

/**
 * Points every import of a WSDL or schema file in wsdl/process-notification at the `?xsd=` URL that
 * serves it, so that a toolkit given only the `?wsdl` URL finds every schema (a relative file name
 * would resolve to a path nobody serves).
 */
export function withServedLocations(xml: string, self: string): string {
  return xml.replace(/schemaLocation="([^"]*)"/g, (_match, location: string) => {
    const file = path.posix.basename(location);
    if (!SCHEMAS.has(file))
      throw new Error(`wsdl/process-notification imports ${location}, which ?xsd= does not serve`);
    return `schemaLocation="${self}?xsd=${encodeURIComponent(file)}"`;
  });
}

/** Why a call's Content-Type is not SOAP 1.1's text/xml; undefined when it is. */
export function soap11ContentTypeRefusal(contentType: string | undefined): SoapFault | undefined {
  const mediaType = (contentType ?? '').slice(0, 256).split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'text/xml') return undefined;
  if (mediaType === 'application/soap+xml')
    return new SoapFault('VersionMismatch', 'SOAP 1.2 is not supported; send SOAP 1.1 (text/xml)');
  return new SoapFault('Client', 'Content-Type must be text/xml (SOAP 1.1)');
}

/** Why a body could not even be read: too large, unreadable, or cut off. */
function bodyRefusal(error: unknown): SoapFault {
  const type = (error as { type?: string }).type;
  if (type === 'entity.too.large') {
    return new SoapFault('Client', `The message is larger than ${MAX_BODY_BYTES} bytes`);
  }
  if (type === 'encoding.unsupported') return new SoapFault('Client', 'Unsupported content encoding');
  return new SoapFault('Client', 'The message could not be read');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeBody(req: Request): SoapFault | undefined {
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) return new SoapFault('Client', 'The message is empty');
  try {
    req.body = utf8.decode(body);
  } catch {
    return new SoapFault('Client', 'The message is not valid UTF-8');
  }
  return undefined;
}

function refuse(deps: EndpointDependencies, req: IngestRequest, error: unknown): SoapFault {
  let fault: SoapFault;
  if (error instanceof SoapFault) fault = error;
  else if (error instanceof EnvelopeError) fault = new SoapFault(error.faultcode, error.message);
  else fault = new SoapFault('Client', 'Not a ProcessNotification request');
  deps.log.warn(
    {
      correlationId: req.correlationId,
      faultcode: fault.faultcode,
      reason: fault.message,
      cause: fault.cause instanceof Error ? fault.cause.message : undefined,
    },
    'ProcessNotification refused',
  );
  deps.onRefused?.(fault);
  return fault;
}
