// Configuration: one declarative schema of every variable (docs/OPERATIONS.md, "Configuration"), one loop that
// checks them all at start and a short list of rules across variables; every problem stops the start (exit 2).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// The inbox's rule for the booking service link, from its dependency-free module: the inbox's index.ts would
// load the whole inbox, which imports this file back (scripts/check-boundaries.mjs, LEAF_IMPORTS).
import { templateProblem } from './inbox/booking-service.js';

// The environments, from their owner's dependency-free schema module (scripts/check-boundaries.mjs, LEAF_IMPORTS).
import { ENVIRONMENTS, type Environment } from './activation-registry/schema.js';

export { ENVIRONMENTS, type Environment };
export type Role = 'ingest' | 'worker' | 'sender' | 'web';
export const ALL_ROLES: readonly Role[] = ['ingest', 'worker', 'sender', 'web'];

export interface Config {
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  environment: Environment;
  consumerHsaId: string;
  ntjp: {
    getBookingDetailsUrl: string | undefined;
    tlsCert: string | undefined;
    tlsKey: string | undefined;
    tlsCa: string | undefined;
  };
  tls: {
    cert: string | undefined;
    key: string | undefined;
    clientCa: string | undefined;
    allowedClients: string[];
  };
  kafkaBrokers: string[];
  /**
   * KAFKA_TOPIC_PREFIX: names the topic (`<prefix>.notifications`) and the workers' consumer group
   * (`<prefix>.workers`).
   */
  kafkaTopicPrefix: string;
  smtp: { url: string | undefined; from: string };
  /**
   * INBOX_URL: the inbox link in every SMS and e-mail; differs per environment (QA notices must not point at
   * production).
   */
  inboxUrl: string;
  twilio: {
    accountSid: string | undefined;
    authToken: string | undefined;
    from: string | undefined;
    /** TWILIO_STATUS_CALLBACK_URL: public URL of POST /channels/twilio/status; unset: no delivery reports. */
    statusCallbackUrl: string | undefined;
    /** TWILIO_API_URL: Twilio's API base (a regional edge, or a local test server); unset: https://api.twilio.com. */
    apiUrl: string | undefined;
  };
  auth: {
    jwksUrl: string | undefined;
    jwtSecret: string | undefined;
    /** AUTH_JWT_AUDIENCE: the `aud` every bearer token must carry (required with AUTH_JWKS_URL). */
    audience?: string | undefined;
    /** AUTH_JWT_ISSUER: the `iss` every bearer token must carry (required with AUTH_JWKS_URL). */
    issuer?: string | undefined;
  };
  /**
   * PUBLIC_BASE_URL: how callers reach this service (WSDL soap:address, OpenID Connect redirects); no trailing
   * slash.
   */
  publicBaseUrl: string | undefined;
  rebookWindowSeconds: number;
  /** REDELIVERY_WINDOW_SECONDS: an identical delivery of a post within this is EI's redelivery and queues nothing. */
  redeliveryWindowSeconds: number;
  /**
   * INGEST_THREADS: threads that read and check ProcessNotification calls off the main thread (started
   * at the first large call); 0 keeps that on the main thread. Default: the cores available, at most 4.
   */
  ingestThreads: number;
  /** NOTIFICATION_RETRY_HOURS: how long a notification waits for a producer that is down before it is a dead letter. */
  notificationRetryHours: number;
  /** NTJP_MAX_CALLS_PER_SECOND: GetBookingDetails calls started per second to one logical address at most. */
  ntjpMaxCallsPerSecond: number;
  /**
   * How long a worker's claim on a notification lasts; the backstop when a dead process is not noticed by its
   * heartbeat.
   */
  workerLeaseSeconds: number;
  /** WORKER_HEARTBEAT_SECONDS: how often a worker / sender process writes its heartbeat and looks for dead ones. */
  workerHeartbeatSeconds: number;
  /** WORKER_DEAD_AFTER_SECONDS: a process silent this long is dead, and its claims are released. */
  workerDeadAfterSeconds: number;
  notifyDigestSeconds: number;
  /** SMS_DAILY_CAP: SMS per citizen per Swedish calendar day; more wait for the next day. */
  smsDailyCap: number;
  smsQuietHours: { from: number; to: number } | undefined;
  /** The flood guard for unannounced bulk loads of a care unit (activation-registry/flood-guard.ts). */
  floodGuard: FloodGuardSettings;
  roles: Set<Role>;
  oidc: {
    issuer: string | undefined;
    clientId: string | undefined;
    clientSecret: string | undefined;
    /** OIDC_PERSONAL_NUMBER_CLAIM: the ID token / userinfo claim holding the personal identity number. */
    personalNumberClaim: string;
    /** OIDC_REDIRECT_URI: the callback registered at the provider; unset: derived from the request. */
    redirectUri: string | undefined;
  };
  /** ADMIN_OIDC_*: administrators' sign-in to /admin through their organisation's OpenID provider. */
  adminOidc: {
    issuer: string | undefined;
    clientId: string | undefined;
    clientSecret: string | undefined;
    /** ADMIN_OIDC_ROLE_CLAIM: the claim (ID token or userinfo) listing the administrator's roles; default `roles`. */
    roleClaim: string;
    /** ADMIN_OIDC_REDIRECT_URI; unset: PUBLIC_BASE_URL + /admin/logga-in/callback. */
    redirectUri: string | undefined;
  };
  /**
   * DEV_LOGIN: the pages' development sign-in (/inbox and /admin: anyone may sign in as anyone). Only
   * when DEV_LOGIN=true, or by default on the embedded defaults (no DATABASE_URL, not production) so that
   * `npm start` works for a newcomer. Never with APP_ENVIRONMENT=prod: the start is refused.
   */
  developmentSignIn: boolean;
  /**
   * DEMO: the built-in development GetBookingDetails producer, demo source system and sample notifications. Never
   * in production.
   */
  demo: boolean;
  /** SESSION_SECRET: protects the pages' session cookies; unset: generated into DATA_DIR/session-secret. */
  session: {
    secret: string | undefined;
    /** SESSION_IDLE_MINUTES: a signed-in session unused this long is ended. */
    idleMinutes: number;
  };
  /**
   * BOOKING_SERVICE_URL_QA / BOOKING_SERVICE_URL_PROD (the one of APP_ENVIRONMENT), else BOOKING_SERVICE_URL:
   * the template of the booking service's link ({careUnit}, {bookingId}, optional {action}); unset: no links.
   */
  bookingServiceUrl: string | undefined;
  /** How long each kind of data is kept (days), and how the purge job runs (docs/OPERATIONS.md, "Retention"). */
  retention: Retention;
  nodeEnv: string;
  logLevel: string;
}

export interface FloodGuardSettings {
  /**
   * FLOOD_GUARD_THRESHOLD: more new posts than this within one window hold a watched unit's messages; 0 turns the
   * guard off.
   */
  threshold: number;
  /** FLOOD_GUARD_WINDOW_SECONDS: the counting window. */
  windowSeconds: number;
  /** FLOOD_GUARD_WATCH_HOURS: how long a unit is watched after it (re)appears. */
  watchHours: number;
  /** FLOOD_GUARD_DORMANT_DAYS: a unit silent this long is watched again, like a new one. */
  dormantDays: number;
  /** FLOOD_GUARD_ALERT_HOURS: held messages waiting longer raise the alert metric and a log line. */
  alertHours: number;
  /** FLOOD_GUARD_EXPIRE_DAYS: held messages waiting longer are dropped (state kept), audited as the system. */
  expireDays: number;
}

export interface Retention {
  /** RETENTION_QUEUE_DAYS: processed notifications (the queue's done rows). */
  queueDays: number;
  /** RETENTION_DEAD_LETTER_DAYS: notifications the engine gave up on, kept for operators to retry. */
  deadLetterDays: number;
  /** RETENTION_CALL_DAYS: records of ProcessNotification calls. */
  callDays: number;
  /**
   * REDELIVERY_WINDOW_SECONDS again: the posts' redelivery fingerprints are kept this long plus an hour
   * (past the window a fingerprint decides nothing).
   */
  redeliveryWindowSeconds: number;
  /** RETENTION_REJECTED_DAYS: rejected transactions (they hold the identity number). */
  rejectedDays: number;
  /** RETENTION_POST_DAYS: posts deleted or long past, and settled held cancellations. */
  postDays: number;
  /** RETENTION_MESSAGE_DAYS: read or hidden inbox messages, and care-unit relations not renewed. */
  messageDays: number;
  /** RETENTION_DELIVERY_DAYS: finished SMS / e-mail deliveries and planned notification requests. */
  deliveryDays: number;
  /** RETENTION_AUDIT_DAYS: the registry's audit log and security events. */
  auditDays: number;
  /** RETENTION_INTERVAL_MINUTES: how often the worker purges; 0 turns the purge off. */
  intervalMinutes: number;
  /** RETENTION_BATCH_SIZE: rows looked at per statement. */
  batchSize: number;
}

/** The production 1177 inbox: the default link in SMS and e-mail. */
export const DEFAULT_INBOX_URL = 'https://www.1177.se/inkorg';

/**
 * Shortest secrets accepted: HS256 needs 32 bytes of key (RFC 7518 3.2); the session key is derived from 32+
 * characters.
 */
export const MIN_JWT_SECRET_BYTES = 32;
export const MIN_SESSION_SECRET_LENGTH = 32;

/** Every problem found at start, each naming its variable; the message is all of them on one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super(list.join('; '));
    this.problems = list;
  }
}

export type Env = Record<string, string | undefined>;

// ---------------------------------------------------------------------------------------------------------
// The schema: one row per variable. The kinds of value (one constant list) and what each row may declare.

export const VARIABLE_KINDS = [
  'integer',
  'boolean',
  'enum',
  'list',
  'url',
  'string',
  'file',
  'path',
  'hourRange',
] as const;
export type VariableKind = (typeof VARIABLE_KINDS)[number];

/** One variable. `T` is the type of its validated value (a phantom: only the builders below set it). */
export interface Variable<T> {
  kind: VariableKind;
  /** One line: what it is for (the docs' table says more). */
  description: string;
  /**
   * The value when unset or empty; a function when it depends on the machine or on other variables (per
   * environment): it is given every variable's value, computed after all set values were read.
   */
  fallback: T | ((values: Readonly<Record<string, unknown>>) => T);
  /** Never echoed in a message (tokens, secrets, account ids). */
  secret?: boolean;
  /** integer: inclusive range. */
  min?: number;
  max?: number;
  /** enum / list: the allowed values (a constant list). */
  values?: readonly string[];
  /** url: accepted schemes (default http, https); `plain`: no query, fragment or credentials, trailing "/" off. */
  schemes?: readonly string[];
  plain?: boolean;
  /** string: the shape it must have (linear: anchored character classes only) and what to say when it does not. */
  pattern?: RegExp;
  patternText?: string;
  /** string: shortest accepted length (secrets), counted in UTF-8 bytes or characters. */
  minLength?: { length: number; unit: 'bytes' | 'characters' };
  /** Empty (set to "") means "none" rather than the default (SMS_QUIET_HOURS=""). */
  emptyMeansNone?: boolean;
  readonly _type?: T;
}

type Fallback<T> = T | ((values: Readonly<Record<string, unknown>>) => T);
const integer = (fallback: Fallback<number>, min: number, max: number, description: string): Variable<number> => ({
  kind: 'integer',
  fallback,
  min,
  max,
  description,
});
const boolean = (fallback: Fallback<boolean>, description: string): Variable<boolean> => ({
  kind: 'boolean',
  fallback,
  description,
});
const oneOf = <V extends string>(values: readonly V[], fallback: V, description: string): Variable<V> => ({
  kind: 'enum',
  values,
  fallback,
  description,
});
const list = <V extends string = string>(description: string, values?: readonly V[]): Variable<V[]> => ({
  kind: 'list',
  fallback: () => [],
  description,
  ...(values === undefined ? {} : { values }),
});
const url = (
  description: string,
  options: Partial<Variable<string | undefined>> = {},
): Variable<string | undefined> => ({
  kind: 'url',
  fallback: undefined,
  description,
  ...options,
});
const optional = (
  description: string,
  options: Partial<Variable<string | undefined>> = {},
): Variable<string | undefined> => ({
  kind: 'string',
  fallback: undefined,
  description,
  ...options,
});
const withDefault = (
  fallback: string,
  description: string,
  options: Partial<Variable<string>> = {},
): Variable<string> => ({
  kind: 'string',
  fallback,
  description,
  ...options,
});
const secret = (description: string, minLength?: Variable<string>['minLength']): Variable<string | undefined> => ({
  kind: 'string',
  fallback: undefined,
  secret: true,
  description,
  ...(minLength === undefined ? {} : { minLength }),
});
const file = (description: string): Variable<string | undefined> => ({
  kind: 'file',
  fallback: undefined,
  description,
});

/** pino's levels: another word would stop the logger at its creation, after the configuration was accepted. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DAYS = 36_500;

/** Every variable the service reads (docs/OPERATIONS.md, "Configuration", lists the same set). */
export const CONFIG_SCHEMA = {
  PORT: integer(8080, 0, 65535, 'HTTP(S) port (0: any free port)'),
  DATA_DIR: {
    kind: 'path',
    fallback: './data',
    description: 'embedded database, outbox files, generated session secret',
  } as Variable<string>,
  // Secret: the URL may carry the password.
  DATABASE_URL: url('PostgreSQL; unset: the embedded PGlite database', {
    schemes: ['postgres', 'postgresql'],
    secret: true,
  }),
  APP_ENVIRONMENT: oneOf(ENVIRONMENTS, 'qa', 'which source-system activations apply'),
  CONSUMER_HSA_ID: withDefault('SE-DEV-INBOX', 'our HSA-id: the LogicalAddress EI calls, the consumer id sent to NTjP'),
  NTJP_GETBOOKINGDETAILS_URL: url('GetBookingDetails through NTjP; unset: notifications wait'),
  NTJP_TLS_CERT: file('our client certificate towards NTjP'),
  NTJP_TLS_KEY: file('the key of that certificate'),
  NTJP_TLS_CA: file("CA for NTjP's server certificate"),
  TLS_CERT: file('serve HTTPS with this certificate'),
  TLS_KEY: file('the key of that certificate'),
  TLS_CLIENT_CA: file('require client certificates signed by this CA on the SOAP endpoint'),
  TLS_ALLOWED_CLIENTS: list('subject CNs allowed to call ProcessNotification'),
  KAFKA_BROKERS: list('brokers; empty: the in-database queue'),
  KAFKA_TOPIC_PREFIX: withDefault('ei-inbox', 'prefix of the Kafka topic and consumer group', {
    // Kafka's own rule for topic names (the suffix is added to it).
    pattern: /^[A-Za-z0-9._-]{1,200}$/,
    patternText: 'may only hold letters, digits, ".", "_" and "-"',
  }),
  ROLES: list('the roles this process runs; empty: all', ALL_ROLES),
  SMTP_URL: optional('e-mail server; unset: e-mails go to DATA_DIR/outbox/', { secret: true }),
  MAIL_FROM: withDefault('1177 Inkorgen <no-reply@1177.se>', 'sender of e-mails'),
  INBOX_URL: { ...url('the inbox link in every SMS and e-mail'), fallback: DEFAULT_INBOX_URL } as Variable<string>,
  TWILIO_ACCOUNT_SID: secret('Twilio account'),
  TWILIO_AUTH_TOKEN: secret('Twilio token'),
  TWILIO_FROM: optional('Twilio sender number'),
  TWILIO_STATUS_CALLBACK_URL: url('public URL of POST /channels/twilio/status; unset: no delivery reports'),
  TWILIO_API_URL: url("Twilio's API base; unset: https://api.twilio.com"),
  AUTH_JWKS_URL: url('keys that verify bearer tokens for /api'),
  AUTH_JWT_SECRET: secret('HS256 key that verifies bearer tokens for /api', {
    length: MIN_JWT_SECRET_BYTES,
    unit: 'bytes',
  }),
  AUTH_JWT_AUDIENCE: optional('the aud every bearer token must carry'),
  AUTH_JWT_ISSUER: optional('the iss every bearer token must carry'),
  PUBLIC_BASE_URL: url('how callers reach the service (WSDL, OIDC redirects)', { plain: true }),
  OIDC_ISSUER: url('citizen sign-in provider'),
  OIDC_CLIENT_ID: optional('our client id at the citizen sign-in provider'),
  OIDC_CLIENT_SECRET: secret('our client secret at the citizen sign-in provider'),
  OIDC_PERSONAL_NUMBER_CLAIM: withDefault('sub', 'the claim holding the personal identity number'),
  OIDC_REDIRECT_URI: url('the citizen sign-in callback; unset: PUBLIC_BASE_URL'),
  ADMIN_OIDC_ISSUER: url("administrators' sign-in provider"),
  ADMIN_OIDC_CLIENT_ID: optional("our client id at the administrators' provider"),
  ADMIN_OIDC_CLIENT_SECRET: secret("our client secret at the administrators' provider"),
  ADMIN_OIDC_ROLE_CLAIM: withDefault('roles', "the claim listing the administrator's roles"),
  ADMIN_OIDC_REDIRECT_URI: url('the administrators sign-in callback; unset: PUBLIC_BASE_URL'),
  // Off unless asked for; the embedded defaults (what `npm start` runs on a developer's machine) and the
  // demo (development only, refused in production by a rule) keep it on.
  DEV_LOGIN: boolean(
    (v) =>
      (v.DATABASE_URL === undefined || v.DEMO === true) && v.APP_ENVIRONMENT !== 'prod' && v.NODE_ENV !== 'production',
    'development sign-in (anyone as anyone); unset: on only on embedded defaults, never in production',
  ),
  BOOKING_SERVICE_URL: optional("template of the booking service's link"),
  BOOKING_SERVICE_URL_QA: optional('the same, with APP_ENVIRONMENT=qa'),
  BOOKING_SERVICE_URL_PROD: optional('the same, with APP_ENVIRONMENT=prod'),
  SESSION_SECRET: secret("protects the pages' session cookies", {
    length: MIN_SESSION_SECRET_LENGTH,
    unit: 'characters',
  }),
  SESSION_IDLE_MINUTES: integer(30, 1, 24 * 60, 'a page session unused this long is ended'),
  REBOOK_WINDOW_SECONDS: integer(120, 0, 86_400, 'how long a cancellation is held to detect a rebooking'),
  REDELIVERY_WINDOW_SECONDS: integer(300, 0, 86_400, "an identical delivery within this is EI's redelivery"),
  INGEST_THREADS: integer(
    () => Math.min(4, os.availableParallelism()),
    0,
    64,
    'threads that read large calls off the main thread',
  ),
  NOTIFICATION_RETRY_HOURS: integer(48, 1, 24 * 30, 'how long a notification waits before it is a dead letter'),
  NTJP_MAX_CALLS_PER_SECOND: integer(100, 1, 100_000, 'GetBookingDetails calls per second to one address'),
  WORKER_LEASE_SECONDS: integer(60, 1, 3600, "how long a worker's claim lasts"),
  WORKER_HEARTBEAT_SECONDS: integer(1, 1, 60, 'how often a process writes its heartbeat'),
  WORKER_DEAD_AFTER_SECONDS: integer(5, 2, 600, 'a process silent this long is dead'),
  NOTIFY_DIGEST_SECONDS: integer(60, 0, 86_400, 'messages of one citizen within this share one notice'),
  SMS_DAILY_CAP: integer(5, 1, 1000, 'SMS per citizen per Swedish calendar day'),
  SMS_QUIET_HOURS: {
    kind: 'hourRange',
    fallback: { from: 21, to: 8 },
    emptyMeansNone: true,
    description: 'no SMS in these hours; empty: none',
  } as Variable<{ from: number; to: number } | undefined>,
  FLOOD_GUARD_THRESHOLD: integer(50, 0, 1_000_000, 'more new posts per window hold a watched unit; 0: off'),
  FLOOD_GUARD_WINDOW_SECONDS: integer(900, 1, 86_400, "the flood guard's counting window"),
  FLOOD_GUARD_WATCH_HOURS: integer(24, 1, 24 * 365, 'how long a new unit is watched'),
  FLOOD_GUARD_DORMANT_DAYS: integer(30, 1, 3650, 'a unit silent this long is watched again'),
  FLOOD_GUARD_ALERT_HOURS: integer(4, 1, 24 * 365, 'held messages waiting longer raise the alert'),
  FLOOD_GUARD_EXPIRE_DAYS: integer(14, 1, 3650, 'held messages waiting longer are dropped'),
  RETENTION_QUEUE_DAYS: integer(7, 1, DAYS, 'processed notifications'),
  RETENTION_DEAD_LETTER_DAYS: integer(90, 1, DAYS, 'dead letters'),
  RETENTION_CALL_DAYS: integer(30, 1, DAYS, 'ProcessNotification calls'),
  RETENTION_REJECTED_DAYS: integer(30, 1, DAYS, 'rejected transactions'),
  RETENTION_POST_DAYS: integer(90, 1, DAYS, 'posts deleted or long past'),
  RETENTION_MESSAGE_DAYS: integer(730, 1, DAYS, 'read or hidden inbox messages'),
  RETENTION_DELIVERY_DAYS: integer(90, 1, DAYS, 'finished SMS / e-mail deliveries'),
  RETENTION_AUDIT_DAYS: integer(1825, 1, DAYS, 'audit log and security events'),
  RETENTION_INTERVAL_MINUTES: integer(60, 0, 10_080, 'how often the worker purges; 0: off'),
  RETENTION_BATCH_SIZE: integer(1000, 10, 100_000, 'rows looked at per purge statement'),
  DEMO: boolean(false, 'the development demonstration'),
  NODE_ENV: withDefault('development', '"production" in production'),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info', 'pino level'),
} satisfies Record<string, Variable<unknown>>;

export type VariableName = keyof typeof CONFIG_SCHEMA;
type ValueOf<V> = V extends Variable<infer T> ? T : never;
/** The validated value of every variable, by name. */
export type ConfigValues = { [N in VariableName]: ValueOf<(typeof CONFIG_SCHEMA)[N]> };

// ---------------------------------------------------------------------------------------------------------
// The generic check of one value against its row. Values from outside are cut before any regex.

const MAX_VALUE_LENGTH = 4096;

type Checked = { ok: true; value: unknown } | { ok: false; problem: string };

/** `shown` is the value for messages: never a secret's. */
function checkValue(name: string, variable: Variable<unknown>, raw: string): Checked {
  const shown = variable.secret ? '' : `, got "${raw.slice(0, 200)}"`;
  const fail = (what: string): Checked => ({ ok: false, problem: `${name} ${what}${shown}` });
  if (raw.length > MAX_VALUE_LENGTH)
    return { ok: false, problem: `${name} is longer than ${MAX_VALUE_LENGTH} characters` };
  switch (variable.kind) {
    case 'integer': {
      if (!/^\d{1,15}$/.test(raw)) return fail('must be a whole number');
      const value = Number(raw);
      const { min = 0, max = Number.MAX_SAFE_INTEGER } = variable;
      if (value < min || value > max) return fail(`must be between ${min} and ${max}`);
      return { ok: true, value };
    }
    case 'boolean':
      return raw === 'true' || raw === 'false'
        ? { ok: true, value: raw === 'true' }
        : fail('must be "true" or "false"');
    case 'enum':
      return variable.values?.includes(raw)
        ? { ok: true, value: raw }
        : fail(`must be one of ${variable.values?.join(', ')}`);
    case 'list': {
      const items = raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      const wrong = variable.values === undefined ? undefined : items.find((item) => !variable.values!.includes(item));
      if (wrong !== undefined) {
        return {
          ok: false,
          problem:
            `${name} may only contain ${variable.values!.join(', ')}` +
            (variable.secret ? '' : `; got "${wrong.slice(0, 200)}"`),
        };
      }
      return { ok: true, value: items };
    }
    case 'url': {
      const schemes = variable.schemes ?? ['http', 'https'];
      const scheme = /^([a-z]{1,20}):\/\/\S+$/.exec(raw)?.[1];
      const article = schemes[0] === 'http' ? 'an http(s)' : `a ${schemes[0]}://`;
      // Web URLs must parse; a database URL may name several hosts (`postgres://h1:5432,h2:5432/db`), which
      // URL refuses.
      const parses = scheme === 'http' || scheme === 'https' ? URL.canParse(raw) : true;
      if (scheme === undefined || !schemes.includes(scheme) || !parses) return fail(`must be ${article} URL`);
      if (!variable.plain) return { ok: true, value: raw };
      const parsed = new URL(raw);
      if (parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') {
        return fail('must be a plain http(s) URL (scheme, host, optional port and path)');
      }
      // Trailing slashes off (a loop: `/\/+$/` would backtrack quadratically on a long run of slashes).
      let value = raw;
      while (value.endsWith('/')) value = value.slice(0, -1);
      return { ok: true, value };
    }
    case 'string': {
      if (variable.pattern !== undefined && !variable.pattern.test(raw))
        return fail(variable.patternText ?? 'has the wrong form');
      const minimum = variable.minLength;
      if (minimum !== undefined) {
        const length = minimum.unit === 'bytes' ? Buffer.byteLength(raw, 'utf8') : raw.length;
        // Length only: the message never carries the value.
        if (length < minimum.length)
          return { ok: false, problem: `${name} must be at least ${minimum.length} ${minimum.unit} long` };
      }
      return { ok: true, value: raw };
    }
    case 'file':
      // A file named by a variable must be readable now, not at the first call that needs it (hours later).
      try {
        fs.accessSync(raw, fs.constants.R_OK);
        if (!fs.statSync(raw).isFile()) return { ok: false, problem: `${name}: cannot read ${raw} (not a file)` };
        return { ok: true, value: raw };
      } catch (error) {
        return {
          ok: false,
          problem: `${name}: cannot read ${raw} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
        };
      }
    case 'path':
      return { ok: true, value: path.resolve(raw) };
    case 'hourRange': {
      const match = /^(\d{1,2})-(\d{1,2})$/.exec(raw);
      const from = Number(match?.[1]);
      const to = Number(match?.[2]);
      if (!match || from > 23 || to > 23 || from === to) return fail('must look like "21-08" (hours 0-23)');
      return { ok: true, value: { from, to } };
    }
  }
}

/**
 * The one loop: reads every variable of `schema` from `env`, checks it against its row and collects every
 * problem (each naming its variable) instead of stopping at the first.
 */
export function readVariables<S extends Record<string, Variable<unknown>>>(
  schema: S,
  env: Env,
): { values: { [N in keyof S]: ValueOf<S[N]> }; problems: string[]; wrong: Set<string> } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  const wrong = new Set<string>();
  const computed: [string, (values: Readonly<Record<string, unknown>>) => unknown][] = [];
  for (const [name, variable] of Object.entries(schema)) {
    const raw = env[name];
    const trimmed = raw?.trim();
    const checked = trimmed === undefined || trimmed === '' ? undefined : checkValue(name, variable, trimmed);
    if (checked?.ok) {
      values[name] = checked.value;
      continue;
    }
    if (checked !== undefined) {
      problems.push(checked.problem);
      wrong.add(name);
    }
    if (trimmed === '' && variable.emptyMeansNone) values[name] = undefined;
    else if (typeof variable.fallback === 'function')
      computed.push([name, variable.fallback as (values: Readonly<Record<string, unknown>>) => unknown]);
    else values[name] = variable.fallback;
  }
  // Defaults that depend on other variables, once every other value is known.
  for (const [name, fallback] of computed) values[name] = fallback(values);
  return { values: values as { [N in keyof S]: ValueOf<S[N]> }, problems, wrong };
}

// ---------------------------------------------------------------------------------------------------------
// Rules across variables: each names the variables it reads (skipped when one of them is already wrong)
// and says what is wrong, or nothing.

interface Rule {
  name: string;
  reads: readonly VariableName[];
  check: (values: ConfigValues) => string | undefined;
}

const isSet = (value: unknown): boolean => value !== undefined;
const production = (values: ConfigValues): boolean =>
  values.APP_ENVIRONMENT === 'prod' || values.NODE_ENV === 'production';

/** The booking-service variable that applies: the one of APP_ENVIRONMENT, else the plain one. */
function bookingServiceVariable(
  values: ConfigValues,
): 'BOOKING_SERVICE_URL' | 'BOOKING_SERVICE_URL_QA' | 'BOOKING_SERVICE_URL_PROD' | undefined {
  const names = [
    `BOOKING_SERVICE_URL_${values.APP_ENVIRONMENT.toUpperCase()}` as 'BOOKING_SERVICE_URL_QA',
    'BOOKING_SERVICE_URL',
  ] as const;
  return names.find((name) => values[name] !== undefined);
}

export const CONFIG_RULES: readonly Rule[] = [
  {
    name: 'NTjP client certificate and key together',
    reads: ['NTJP_TLS_CERT', 'NTJP_TLS_KEY'],
    check: (v) =>
      isSet(v.NTJP_TLS_CERT) !== isSet(v.NTJP_TLS_KEY)
        ? 'NTJP_TLS_CERT and NTJP_TLS_KEY must be set together'
        : undefined,
  },
  {
    name: 'TLS certificate and key together',
    reads: ['TLS_CERT', 'TLS_KEY'],
    check: (v) => (isSet(v.TLS_CERT) !== isSet(v.TLS_KEY) ? 'TLS_CERT and TLS_KEY must be set together' : undefined),
  },
  {
    name: 'client CA needs a server certificate',
    reads: ['TLS_CLIENT_CA', 'TLS_CERT'],
    check: (v) =>
      isSet(v.TLS_CLIENT_CA) && !isSet(v.TLS_CERT) ? 'TLS_CLIENT_CA needs TLS_CERT and TLS_KEY' : undefined,
  },
  {
    name: "Twilio's three together",
    reads: ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'],
    check: (v) => {
      const count = [v.TWILIO_ACCOUNT_SID, v.TWILIO_AUTH_TOKEN, v.TWILIO_FROM].filter(isSet).length;
      return count !== 0 && count !== 3
        ? 'TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM must be set together'
        : undefined;
    },
  },
  {
    // The account's credentials go with every request: never in clear text in production.
    name: 'Twilio over https in production',
    reads: ['TWILIO_API_URL', 'NODE_ENV'],
    check: (v) =>
      v.TWILIO_API_URL !== undefined && !v.TWILIO_API_URL.startsWith('https://') && v.NODE_ENV === 'production'
        ? 'TWILIO_API_URL must be an https URL in production'
        : undefined,
  },
  {
    name: 'citizen sign-in needs a client id',
    reads: ['OIDC_ISSUER', 'OIDC_CLIENT_ID'],
    check: (v) => (isSet(v.OIDC_ISSUER) && !isSet(v.OIDC_CLIENT_ID) ? 'OIDC_ISSUER needs OIDC_CLIENT_ID' : undefined),
  },
  {
    name: 'citizen sign-in redirect never from the Host header',
    reads: ['OIDC_ISSUER', 'OIDC_REDIRECT_URI', 'PUBLIC_BASE_URL'],
    check: (v) =>
      isSet(v.OIDC_ISSUER) && !isSet(v.OIDC_REDIRECT_URI) && !isSet(v.PUBLIC_BASE_URL)
        ? 'OIDC_ISSUER needs PUBLIC_BASE_URL or OIDC_REDIRECT_URI (the redirect is never built from the Host header)'
        : undefined,
  },
  {
    name: "administrators' sign-in needs a client id",
    reads: ['ADMIN_OIDC_ISSUER', 'ADMIN_OIDC_CLIENT_ID'],
    check: (v) =>
      isSet(v.ADMIN_OIDC_ISSUER) && !isSet(v.ADMIN_OIDC_CLIENT_ID)
        ? 'ADMIN_OIDC_ISSUER needs ADMIN_OIDC_CLIENT_ID'
        : undefined,
  },
  {
    name: "administrators' sign-in redirect never from the Host header",
    reads: ['ADMIN_OIDC_ISSUER', 'ADMIN_OIDC_REDIRECT_URI', 'PUBLIC_BASE_URL'],
    check: (v) =>
      isSet(v.ADMIN_OIDC_ISSUER) && !isSet(v.ADMIN_OIDC_REDIRECT_URI) && !isSet(v.PUBLIC_BASE_URL)
        ? 'ADMIN_OIDC_ISSUER needs PUBLIC_BASE_URL or ADMIN_OIDC_REDIRECT_URI'
        : undefined,
  },
  {
    // Keys of a shared identity provider sign tokens for many services: only ours may open /api.
    name: 'JWKS tokens bound to our audience and issuer',
    reads: ['AUTH_JWKS_URL', 'AUTH_JWT_AUDIENCE', 'AUTH_JWT_ISSUER'],
    check: (v) =>
      isSet(v.AUTH_JWKS_URL) && (!isSet(v.AUTH_JWT_AUDIENCE) || !isSet(v.AUTH_JWT_ISSUER))
        ? 'AUTH_JWKS_URL needs AUTH_JWT_AUDIENCE and AUTH_JWT_ISSUER'
        : undefined,
  },
  {
    // One late heartbeat (a busy event loop, a slow write) must not make a live process look dead.
    name: 'heartbeat and death apart',
    reads: ['WORKER_HEARTBEAT_SECONDS', 'WORKER_DEAD_AFTER_SECONDS'],
    check: (v) =>
      v.WORKER_DEAD_AFTER_SECONDS < 2 * v.WORKER_HEARTBEAT_SECONDS
        ? 'WORKER_DEAD_AFTER_SECONDS must be at least twice WORKER_HEARTBEAT_SECONDS'
        : undefined,
  },
  {
    name: 'booking-service link template',
    reads: ['APP_ENVIRONMENT', 'NODE_ENV', 'BOOKING_SERVICE_URL', 'BOOKING_SERVICE_URL_QA', 'BOOKING_SERVICE_URL_PROD'],
    check: (v) => {
      const name = bookingServiceVariable(v);
      const problem = name === undefined ? undefined : templateProblem(v[name]!, production(v));
      return problem === undefined ? undefined : `${name} ${problem}`;
    },
  },
  {
    name: 'no development sign-in in production',
    reads: ['DEV_LOGIN', 'APP_ENVIRONMENT'],
    check: (v) =>
      v.DEV_LOGIN === true && v.APP_ENVIRONMENT === 'prod'
        ? 'DEV_LOGIN=true is not allowed with APP_ENVIRONMENT=prod: anyone could sign in as anyone'
        : undefined,
  },
  {
    name: 'no demo in production',
    reads: ['DEMO', 'APP_ENVIRONMENT', 'NODE_ENV'],
    check: (v) =>
      v.DEMO === true && production(v)
        ? 'DEMO=true is for development only: refused with APP_ENVIRONMENT=prod or NODE_ENV=production'
        : undefined,
  },
  {
    name: 'the demo brings its own producer',
    reads: ['DEMO', 'NTJP_GETBOOKINGDETAILS_URL'],
    check: (v) =>
      v.DEMO === true && isSet(v.NTJP_GETBOOKINGDETAILS_URL)
        ? 'DEMO=true brings its own GetBookingDetails producer: unset NTJP_GETBOOKINGDETAILS_URL'
        : undefined,
  },
  {
    name: 'the demo runs on plain HTTP',
    reads: ['DEMO', 'TLS_CERT'],
    check: (v) =>
      v.DEMO === true && isSet(v.TLS_CERT) ? 'DEMO=true runs on plain HTTP: unset TLS_CERT and TLS_KEY' : undefined,
  },
];

/** Reads and checks every variable and every rule; throws one ConfigError listing all problems found. */
export function loadValues(env: Env = process.env): ConfigValues {
  const { values, problems, wrong } = readVariables(CONFIG_SCHEMA, env);
  for (const rule of CONFIG_RULES) {
    if (rule.reads.some((name) => wrong.has(name))) continue;
    const problem = rule.check(values);
    if (problem !== undefined) problems.push(problem);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values;
}

/** The validated values shaped as the components take them (each its own slice). */
export function loadConfig(env: Env = process.env): Config {
  const v = loadValues(env);
  const bookingService = bookingServiceVariable(v);
  return {
    port: v.PORT,
    dataDir: v.DATA_DIR,
    databaseUrl: v.DATABASE_URL,
    environment: v.APP_ENVIRONMENT,
    consumerHsaId: v.CONSUMER_HSA_ID,
    ntjp: {
      getBookingDetailsUrl: v.NTJP_GETBOOKINGDETAILS_URL,
      tlsCert: v.NTJP_TLS_CERT,
      tlsKey: v.NTJP_TLS_KEY,
      tlsCa: v.NTJP_TLS_CA,
    },
    tls: { cert: v.TLS_CERT, key: v.TLS_KEY, clientCa: v.TLS_CLIENT_CA, allowedClients: v.TLS_ALLOWED_CLIENTS },
    kafkaBrokers: v.KAFKA_BROKERS,
    kafkaTopicPrefix: v.KAFKA_TOPIC_PREFIX,
    smtp: { url: v.SMTP_URL, from: v.MAIL_FROM },
    inboxUrl: v.INBOX_URL,
    twilio: {
      accountSid: v.TWILIO_ACCOUNT_SID,
      authToken: v.TWILIO_AUTH_TOKEN,
      from: v.TWILIO_FROM,
      statusCallbackUrl: v.TWILIO_STATUS_CALLBACK_URL,
      apiUrl: v.TWILIO_API_URL,
    },
    auth: {
      jwksUrl: v.AUTH_JWKS_URL,
      jwtSecret: v.AUTH_JWT_SECRET,
      audience: v.AUTH_JWT_AUDIENCE,
      issuer: v.AUTH_JWT_ISSUER,
    },
    publicBaseUrl: v.PUBLIC_BASE_URL,
    rebookWindowSeconds: v.REBOOK_WINDOW_SECONDS,
    redeliveryWindowSeconds: v.REDELIVERY_WINDOW_SECONDS,
    ingestThreads: v.INGEST_THREADS,
    notificationRetryHours: v.NOTIFICATION_RETRY_HOURS,
    ntjpMaxCallsPerSecond: v.NTJP_MAX_CALLS_PER_SECOND,
    workerLeaseSeconds: v.WORKER_LEASE_SECONDS,
    workerHeartbeatSeconds: v.WORKER_HEARTBEAT_SECONDS,
    workerDeadAfterSeconds: v.WORKER_DEAD_AFTER_SECONDS,
    notifyDigestSeconds: v.NOTIFY_DIGEST_SECONDS,
    smsDailyCap: v.SMS_DAILY_CAP,
    smsQuietHours: v.SMS_QUIET_HOURS,
    floodGuard: {
      threshold: v.FLOOD_GUARD_THRESHOLD,
      windowSeconds: v.FLOOD_GUARD_WINDOW_SECONDS,
      watchHours: v.FLOOD_GUARD_WATCH_HOURS,
      dormantDays: v.FLOOD_GUARD_DORMANT_DAYS,
      alertHours: v.FLOOD_GUARD_ALERT_HOURS,
      expireDays: v.FLOOD_GUARD_EXPIRE_DAYS,
    },
    roles: new Set<Role>(v.ROLES.length > 0 ? v.ROLES : ALL_ROLES),
    oidc: {
      issuer: v.OIDC_ISSUER,
      clientId: v.OIDC_CLIENT_ID,
      clientSecret: v.OIDC_CLIENT_SECRET,
      personalNumberClaim: v.OIDC_PERSONAL_NUMBER_CLAIM,
      redirectUri: v.OIDC_REDIRECT_URI,
    },
    adminOidc: {
      issuer: v.ADMIN_OIDC_ISSUER,
      clientId: v.ADMIN_OIDC_CLIENT_ID,
      clientSecret: v.ADMIN_OIDC_CLIENT_SECRET,
      roleClaim: v.ADMIN_OIDC_ROLE_CLAIM,
      redirectUri: v.ADMIN_OIDC_REDIRECT_URI,
    },
    developmentSignIn: v.DEV_LOGIN,
    demo: v.DEMO,
    session: { secret: v.SESSION_SECRET, idleMinutes: v.SESSION_IDLE_MINUTES },
    bookingServiceUrl: bookingService === undefined ? undefined : v[bookingService],
    retention: {
      queueDays: v.RETENTION_QUEUE_DAYS,
      deadLetterDays: v.RETENTION_DEAD_LETTER_DAYS,
      callDays: v.RETENTION_CALL_DAYS,
      redeliveryWindowSeconds: v.REDELIVERY_WINDOW_SECONDS,
      rejectedDays: v.RETENTION_REJECTED_DAYS,
      postDays: v.RETENTION_POST_DAYS,
      messageDays: v.RETENTION_MESSAGE_DAYS,
      deliveryDays: v.RETENTION_DELIVERY_DAYS,
      auditDays: v.RETENTION_AUDIT_DAYS,
      intervalMinutes: v.RETENTION_INTERVAL_MINUTES,
      batchSize: v.RETENTION_BATCH_SIZE,
    },
    nodeEnv: v.NODE_ENV,
    logLevel: v.LOG_LEVEL,
  };
}
