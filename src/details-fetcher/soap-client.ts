// GetBookingDetails through NTjP (CONTRACT §3) with the soap package's client.
//
// The trap, verified with soap 1.13 (see test/details-fetcher/wsdl-trap.test.ts): given the complete
// RIVTA WSDL, whose input message has the parts LogicalAddress, actor and parameters, the client takes
// the first part as the body and sends
//   <soap:Body><itr:LogicalAddress><itr:healthcare_facility>..</itr:healthcare_facility><itr:bookingId>..
// i.e. the body element is LogicalAddress, the body fields land in the registry namespace, and no SOAP
// Header is written at all (describe() reports the input as "xs:string"). Passing { LogicalAddress, actor,
// parameters } only nests everything one level deeper inside that same wrong element. So the client is
// built from wsdl/get-booking-details/GetBookingDetailsInteraction_body-only.wsdl, which declares only the
// body part, and LogicalAddress and Actor are added as SOAP headers for each call.
//
// Client-wide headers (addSoapHeader, addHttpHeader) live on the Client object and are read when a call
// serialises its request, so on one shared Client concurrent calls would overwrite each other's
// LogicalAddress. Each call therefore gets its own Client over the WSDL parsed once at start (a cheap
// object: the parsed WSDL, the HTTP client and its keep-alive agents are shared); its headers cannot
// reach another call.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import soap from 'soap';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config.js';
import { AddressGuard, isRefusal, type AddressStatus, type Refusal } from './address-guard.js';
import { NS } from './answer-reader.js';
import { CONFIGURATION_RETRY_MS } from '../queue/index.js';
import {
  classifyHttpAnswer,
  DEFAULT_CONFIGURATION_FAULT_CODES,
  NOT_FOUND_FAULT_PATTERNS,
  transient,
  type ClassifyOptions,
} from './classify.js';
import type { DetailsFetcher, DetailsOutcome, DetailsRequest } from './types.js';

const WSDL_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../wsdl/get-booking-details/GetBookingDetailsInteraction_body-only.wsdl',
);

export const CONSUMER_HSA_ID_HEADER = 'x-rivta-original-serviceconsumer-hsaid';

export const DETAILS_FETCHER_DEFAULTS = {
  timeoutMs: 10_000,
  maxInFlightPerAddress: 8,
  maxQueuedPerAddress: 256,
  maxCallsPerSecondPerAddress: 100,
  failureThreshold: 5,
  coolDownMs: 30_000,
  configurationRetryMs: CONFIGURATION_RETRY_MS,
  maxAnswerBytes: 1024 * 1024,
} as const;

export interface DetailsFetcherOptions {
  /** consumerHsaId, and ntjp (URL, client certificate) from CONTRACT §1. */
  config: Pick<Config, 'consumerHsaId' | 'ntjp'>;
  /** Overrides config.ntjp.getBookingDetailsUrl (tests). */
  url?: string;
  log?: Logger;
  /** Whole call, from the first byte sent to the last byte read. Default 10 s. */
  timeoutMs?: number;
  /** Calls in flight to one logical address at most. Default 8. */
  maxInFlightPerAddress?: number;
  /** Calls waiting for a slot at one logical address at most; more are refused as transient. Default 256. */
  maxQueuedPerAddress?: number;
  /** How long a call may wait for a slot. Default: timeoutMs. */
  queueTimeoutMs?: number;
  /**
   * Calls started per second to one logical address at most (NTJP_MAX_CALLS_PER_SECOND). Default 100. What
   * bounds the load on one booking system when EI reloads: every re-sent post is fetched once.
   */
  maxCallsPerSecondPerAddress?: number;
  breaker?: {
    /** Consecutive transient failures of one address that open its breaker. Default 5. */
    failureThreshold?: number;
    /** Open for this long, then one trial call. Default 30 s. */
    coolDownMs?: number;
  };
  /**
   * The suggested retryAfterMs of configuration outcomes. Default: the queue's retry policy
   * (CONFIGURATION_RETRY_MS).
   */
  configurationRetryMs?: number;
  /** Platform fault codes that are configuration errors. Default VP004, VP007. */
  configurationFaultCodes?: readonly string[];
  /** Fault texts that mean "the producer does not have this booking". */
  notFoundFaultPatterns?: readonly RegExp[];
  /** Longer answers are malformed. Default 1 MiB. */
  maxAnswerBytes?: number;
  /** Logical addresses whose guard state is kept at most (idle ones beyond are forgotten). Default 10,000. */
  maxAddresses?: number;
  /** An address with nothing in flight is forgotten this long after its last call. Default 10 minutes. */
  idleAddressMs?: number;
  /**
   * The clock the calls-per-second cap reads and waits by. Default: the monotonic clock and a timer. Tests
   * give their own, so that what the cap decides does not depend on how loaded the machine is.
   */
  pacingClock?: PacingClock;
}

/** Time as the calls-per-second cap sees it, in milliseconds. */
export interface PacingClock {
  now(): number;
  wait(ms: number): Promise<void>;
}

const MONOTONIC_CLOCK: PacingClock = {
  now: () => performance.now(),
  wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The fetcher as built here: the shared interface plus a look at one address's guard (tests, health). */
export interface GuardedDetailsFetcher extends DetailsFetcher {
  status(logicalAddress: string): AddressStatus;
  /** Remembered addresses whose breaker is open or half-open (metrics), and how many are remembered. */
  breakers(): { open: number; halfOpen: number; addresses: number };
}

/** A configuration problem of the fetcher (a ConfigError: the start exits 2). */
export class DetailsFetcherSetupError extends ConfigError {
  override name = 'DetailsFetcherSetupError';
}

/** What the HTTP transport tells about a failed call, whatever its origin (axios, node, TLS). */
interface TransportError {
  code?: string;
  message?: string;
}

/**
 * The connection pool to NTjP. Idle connections are kept for more calls than the engine has in flight at
 * most (2 rounds of up to 256 calls): with Node's default (256 idle at most) a busy engine closed the
 * connections beyond that as their calls ended and opened new ones (for NTjP a TLS handshake each) for the
 * next round (test/details-fetcher/concurrency.test.ts, "connections kept"). TCP keep-alive is axios's 60 s:
 * axios sets 60 s on a socket at every request and the agent its own value (default 1 s) when it takes
 * the socket back, so with two values every call cost two rounds of setsockopt.
 */
const KEEP_ALIVE = { keepAlive: true, keepAliveMsecs: 60_000, maxFreeSockets: 1024 } as const;

// TLS errors that say a certificate was refused or could not be verified: fixed by configuration, not by retrying.
const TLS_REFUSAL = /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|EPROTO$|HOSTNAME_MISMATCH)/;

function readPem(file: string | undefined, variable: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new DetailsFetcherSetupError(
      `${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** soap 1.13's escape of a body value (its utils.xmlEscape), so that the body written here is the one soap wrote. */
function soapEscape(value: string): string {
  if (value.startsWith('<![CDATA[') && value.endsWith(']]>')) return value;
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#x9;')
    .replace(/\r/g, '&#xD;')
    .replace(/\n/g, '&#xA;');
}

/**
 * The SOAP Body of a call, written as soap's serialiser writes it from the WSDL (its walk of the schema was
 * about 6 % of a call's CPU in bench:e2e's profile); soap sends a body given as `_xml` as it is. Locked
 * byte for byte by test/details-fetcher/fetch.test.ts ("exactly what soap 1.13 writes").
 */
function requestBody(request: DetailsRequest): string {
  return (
    `<gbd:GetBookingDetails xmlns:gbd="${NS.responder}" xmlns="${NS.responder}">` +
    `<gbd:healthcare_facility>${soapEscape(request.logicalAddress)}</gbd:healthcare_facility>` +
    `<gbd:bookingId>${soapEscape(request.bookingId)}</gbd:bookingId></gbd:GetBookingDetails>`
  );
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result <= 0)
    throw new DetailsFetcherSetupError(`${name} must be a positive number, got ${String(value)}`);
  return result;
}

export async function createDetailsFetcher(options: DetailsFetcherOptions): Promise<GuardedDetailsFetcher> {
  const url = options.url ?? options.config.ntjp.getBookingDetailsUrl;
  if (url === undefined) throw new DetailsFetcherSetupError('No GetBookingDetails URL: set NTJP_GETBOOKINGDETAILS_URL');
  const log = options.log;
  const timeoutMs = positive(options.timeoutMs, DETAILS_FETCHER_DEFAULTS.timeoutMs, 'timeoutMs');
  const maxAnswerBytes = positive(options.maxAnswerBytes, DETAILS_FETCHER_DEFAULTS.maxAnswerBytes, 'maxAnswerBytes');
  const configurationRetryMs = positive(
    options.configurationRetryMs,
    DETAILS_FETCHER_DEFAULTS.configurationRetryMs,
    'configurationRetryMs',
  );
  const consumerHsaId = options.config.consumerHsaId;

  const tls = options.config.ntjp;
  const cert = readPem(tls.tlsCert, 'NTJP_TLS_CERT');
  const key = readPem(tls.tlsKey, 'NTJP_TLS_KEY');
  const ca = readPem(tls.tlsCa, 'NTJP_TLS_CA');
  if ((cert === undefined) !== (key === undefined))
    throw new DetailsFetcherSetupError('NTJP_TLS_CERT and NTJP_TLS_KEY must be set together');
  // Keep-alive: NTjP is one host; a TLS handshake per call would cost more than most answers.
  const httpAgent = new http.Agent(KEEP_ALIVE);
  const httpsAgent = new https.Agent({ ...KEEP_ALIVE, cert, key, ...(ca ? { ca } : {}) });
  if (cert && !url.startsWith('https:'))
    log?.warn(
      { url },
      'NTJP_TLS_CERT is set but the GetBookingDetails URL is not https: no client certificate is sent',
    );

  // Parsed once; every call builds its own Client on it (see the note at the top).
  const template = await soap.createClientAsync(WSDL_PATH, { endpoint: url });
  const wsdl = template.wsdl;
  // soap would parse every answer into objects with sax-js; the answer is read from the raw body of the
  // 'response' event by answer-reader.ts instead, so soap's own parse is skipped (a third of the CPU per call).
  (wsdl as unknown as { xmlToObject: (xml: string) => unknown }).xmlToObject = () => ({ Body: {} });
  const httpClient = new soap.HttpClient({});
  // axios looks in the environment for a proxy (HTTP_PROXY, ALL_PROXY, ...) at every call, about a tenth of
  // axios's CPU per call: looked at once here. With none set for the URL's scheme, axios is told what it would
  // find (`proxy: false`: none); with one set, it looks as before.
  const scheme = new URL(url).protocol.replace(/:$/, '');
  const proxyInEnvironment = [`${scheme}_proxy`, 'all_proxy'].some(
    (name) => process.env[name] || process.env[name.toUpperCase()],
  );
  const proxy = proxyInEnvironment ? {} : { proxy: false as const };

  const guard = new AddressGuard({
    maxInFlight: positive(
      options.maxInFlightPerAddress,
      DETAILS_FETCHER_DEFAULTS.maxInFlightPerAddress,
      'maxInFlightPerAddress',
    ),
    maxQueued: options.maxQueuedPerAddress ?? DETAILS_FETCHER_DEFAULTS.maxQueuedPerAddress,
    queueTimeoutMs: positive(options.queueTimeoutMs, timeoutMs, 'queueTimeoutMs'),
    failureThreshold: positive(
      options.breaker?.failureThreshold,
      DETAILS_FETCHER_DEFAULTS.failureThreshold,
      'breaker.failureThreshold',
    ),
    coolDownMs: positive(options.breaker?.coolDownMs, DETAILS_FETCHER_DEFAULTS.coolDownMs, 'breaker.coolDownMs'),
    ...(options.maxAddresses !== undefined && { maxAddresses: positive(options.maxAddresses, 1, 'maxAddresses') }),
    ...(options.idleAddressMs !== undefined && { idleEvictMs: positive(options.idleAddressMs, 1, 'idleAddressMs') }),
    onBreakerChange: (logicalAddress, state, consecutiveFailures) => {
      const level = state === 'open' ? 'warn' : 'info';
      log?.[level](
        { logicalAddress, breaker: state, consecutiveFailures },
        `GetBookingDetails circuit ${state} for ${logicalAddress}`,
      );
    },
  });

  const configurationFaultCodes = new Set(options.configurationFaultCodes ?? DEFAULT_CONFIGURATION_FAULT_CODES);
  const notFoundFaultPatterns = options.notFoundFaultPatterns ?? NOT_FOUND_FAULT_PATTERNS;
  const classifyOptions = (request: DetailsRequest): ClassifyOptions => ({
    configurationFaultCodes,
    notFoundFaultPatterns,
    configurationRetryMs,
  });

  const calls = new Set<AbortController>();
  let closed = false;

  // Per address, a token bucket: up to `rate` calls at once after a quiet spell, then `rate` calls a second.
  // A call that would wait longer than the slot wait allows is not sent (a refusal, no try spent). Entries
  // of addresses whose bucket is full again are dropped, so the map holds only busy addresses.
  const rate = positive(
    options.maxCallsPerSecondPerAddress,
    DETAILS_FETCHER_DEFAULTS.maxCallsPerSecondPerAddress,
    'maxCallsPerSecondPerAddress',
  );
  const queueTimeoutMs = options.queueTimeoutMs ?? timeoutMs;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const clock = options.pacingClock ?? MONOTONIC_CLOCK;
  async function paced(logicalAddress: string): Promise<boolean> {
    const now = clock.now();
    const bucket = buckets.get(logicalAddress) ?? { tokens: rate, at: now };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) * rate) / 1000);
    bucket.at = now;
    // Tokens may go below zero: calls already promised a later start.
    const waitMs = bucket.tokens >= 1 ? 0 : ((1 - bucket.tokens) * 1000) / rate;
    if (waitMs > queueTimeoutMs) return false;
    bucket.tokens -= 1;
    buckets.set(logicalAddress, bucket);
    if (buckets.size > 1000) {
      for (const [address, other] of buckets)
        if (other.tokens + ((now - other.at) * rate) / 1000 >= rate) buckets.delete(address);
    }
    if (waitMs > 0) await clock.wait(waitMs);
    return true;
  }

  // A refusal is no call at the producer: marked notSent, so that it spends no try of the notification.
  function refused(refusal: Refusal, request: DetailsRequest): Extract<DetailsOutcome, { kind: 'transient' }> {
    const address = request.logicalAddress;
    switch (refusal.reason) {
      case 'circuit-open':
        return {
          kind: 'transient',
          reason: `circuit open for ${address}: its producer failed repeatedly`,
          retryAfterMs: refusal.retryAfterMs,
          notSent: true,
        };
      case 'queue-full':
        return { ...transient(`too many calls waiting for ${address}`), notSent: true };
      case 'queue-timeout':
        return { ...transient(`no free slot for ${address} within ${timeoutMs} ms`), notSent: true };
      case 'closed':
        return { ...transient('the details fetcher is closed'), notSent: true };
    }
  }

  /** One GetBookingDetails over the network; never throws. */
  async function call(request: DetailsRequest): Promise<DetailsOutcome> {
    const client = new soap.Client(wsdl, url, { httpClient });
    client.addSoapHeader(
      `<itr:LogicalAddress xmlns:itr="${NS.registry}">${escapeXml(request.logicalAddress)}</itr:LogicalAddress>`,
    );
    client.addSoapHeader(
      `<ih:Actor xmlns:ih="${NS.headers}"><ih:actorId>${escapeXml(request.resident)}</ih:actorId>` +
        '<ih:actorType>subject_of_care</ih:actorType></ih:Actor>',
    );
    let answer: { status: number; body: string } | undefined;
    client.on('response', (body: unknown, response: { status?: unknown } | undefined) => {
      if (response && typeof response.status === 'number')
        answer = { status: response.status, body: typeof body === 'string' ? body : '' };
    });

    const controller = new AbortController();
    calls.add(controller);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      await client.GetBookingDetailsAsync(
        { _xml: requestBody(request) },
        // Handed to axios by soap's HttpClient.
        {
          signal: controller.signal,
          httpAgent,
          httpsAgent,
          maxContentLength: maxAnswerBytes,
          maxRedirects: 0,
          ...proxy,
        },
        { [CONSUMER_HSA_ID_HEADER]: consumerHsaId },
      );
    } catch (error) {
      // soap rejects on faults and on answers it cannot map; `answer` holds what came back, if anything did.
      if (answer === undefined) return transportFailure(error as TransportError, timedOut, request);
    } finally {
      clearTimeout(timer);
      calls.delete(controller);
    }
    if (answer === undefined) return { kind: 'malformed', reason: 'no answer body' };
    return classifyHttpAnswer(answer.status, answer.body, request, classifyOptions(request));
  }

  function transportFailure(error: TransportError, timedOut: boolean, request: DetailsRequest): DetailsOutcome {
    // Transient failures suggest no wait: the queue's retry policy (planRetry) schedules the next try.
    if (timedOut) return transient(`no answer within ${timeoutMs} ms`);
    if (closed) return transient('the details fetcher was closed during the call');
    const code = error.code ?? 'unknown';
    const message = (error.message ?? '').split('\n')[0] ?? '';
    if (/maxContentLength/.test(message))
      return { kind: 'malformed', reason: `answer longer than ${maxAnswerBytes} bytes` };
    if (TLS_REFUSAL.test(code) || /certificate|alert/i.test(message)) {
      return {
        kind: 'configuration',
        code: 'TLS',
        reason: `TLS refused (${code}: ${message})`,
        retryAfterMs: configurationRetryMs,
      };
    }
    return transient(`network error (${code}: ${message})`);
  }

  function logOutcome(request: DetailsRequest, outcome: DetailsOutcome, elapsedMs: number): void {
    const fields = {
      logicalAddress: request.logicalAddress,
      bookingId: request.bookingId,
      outcome: outcome.kind,
      elapsedMs: Math.round(elapsedMs),
    };
    if (outcome.kind === 'found' || outcome.kind === 'not-found') log?.debug(fields, 'GetBookingDetails answered');
    else
      log?.warn(
        { ...fields, reason: outcome.reason },
        `GetBookingDetails ${outcome.kind} for ${request.logicalAddress}`,
      );
  }

  return {
    pace: { callsPerSecondPerAddress: rate, maxWaitMs: queueTimeoutMs },

    async fetch(request: DetailsRequest): Promise<DetailsOutcome> {
      for (const name of ['logicalAddress', 'bookingId', 'resident'] as const) {
        if (typeof request[name] !== 'string' || request[name].trim() === '') {
          throw new TypeError(`DetailsRequest.${name} must be a non-empty string`);
        }
      }
      const started = performance.now();
      if (!(await paced(request.logicalAddress))) {
        return { ...transient(`more than ${rate} calls a second to ${request.logicalAddress}`), notSent: true };
      }
      const acquired = await guard.acquire(request.logicalAddress);
      if (isRefusal(acquired)) {
        const outcome = refused(acquired, request);
        log?.debug(
          { logicalAddress: request.logicalAddress, outcome: outcome.kind, reason: outcome.reason },
          'GetBookingDetails not sent',
        );
        return outcome;
      }
      let outcome: DetailsOutcome = { kind: 'transient', reason: 'call did not finish' };
      try {
        outcome = await call(request);
        return outcome;
      } finally {
        const closedDuringCall = closed && outcome.kind === 'transient';
        // Transport failures and HTTP 5xx without a fault count towards the breaker; a per-booking fault does not.
        const breakerResult =
          closedDuringCall || outcome.kind === 'configuration' || (outcome.kind === 'transient' && outcome.perBooking)
            ? 'neutral'
            : outcome.kind === 'transient'
              ? 'transient-failure'
              : 'success';
        acquired.release(breakerResult);
        logOutcome(request, outcome, performance.now() - started);
      }
    },

    status(logicalAddress: string): AddressStatus {
      return guard.status(logicalAddress);
    },

    breakers() {
      return { ...guard.breakerCounts(), addresses: guard.size };
    },

    async close(): Promise<void> {
      closed = true;
      guard.close();
      for (const controller of calls) controller.abort();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
