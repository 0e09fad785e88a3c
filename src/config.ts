// Configuration is read and validated once at start (every variable: docs/OPERATIONS.md, "Configuration"); a wrong value stops the start.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// The inbox's rule for the booking service link, from its dependency-free module: the inbox's index.ts would
// load the whole inbox, which imports this file back (scripts/check-boundaries.mjs, LEAF_IMPORTS).
import { templateProblem } from './inbox/booking-service.js';

export type Environment = 'qa' | 'prod';
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
  /** KAFKA_TOPIC_PREFIX: names the topic (`<prefix>.notifications`) and the workers' consumer group (`<prefix>.workers`). */
  kafkaTopicPrefix: string;
  smtp: { url: string | undefined; from: string };
  /** INBOX_URL: the inbox link in every SMS and e-mail; differs per environment (QA notices must not point at production). */
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
  /** PUBLIC_BASE_URL: how callers reach this service (WSDL soap:address, OpenID Connect redirects); no trailing slash. */
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
  /** How long a worker's claim on a notification lasts; the backstop when a dead process is not noticed by its heartbeat. */
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
  /** DEMO: the built-in development GetBookingDetails producer, demo source system and sample notifications. Never in production. */
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
  /** FLOOD_GUARD_THRESHOLD: more new posts than this within one window hold a watched unit's messages; 0 turns the guard off. */
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
  /** RETENTION_CALL_DAYS: records of ProcessNotification calls and the redelivery fingerprints of posts. */
  callDays: number;
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

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function kafkaTopicPrefix(env: Env): string {
  const prefix = text(env, 'KAFKA_TOPIC_PREFIX') ?? 'ei-inbox';
  // Kafka's own rule for topic names (the suffix is added to it).
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(prefix)) throw new ConfigError('KAFKA_TOPIC_PREFIX may only hold letters, digits, ".", "_" and "-"');
  return prefix;
}

function list(env: Env, name: string): string[] {
  return (text(env, name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function quietHours(env: Env): { from: number; to: number } | undefined {
  const raw = env.SMS_QUIET_HOURS;
  if (raw === undefined) return { from: 21, to: 8 };
  if (raw.trim() === '') return undefined;
  const match = /^(\d{1,2})-(\d{1,2})$/.exec(raw.trim());
  const from = Number(match?.[1]);
  const to = Number(match?.[2]);
  if (!match || from > 23 || to > 23 || from === to) {
    throw new ConfigError(`SMS_QUIET_HOURS must look like "21-08" (hours 0-23), got "${raw}"`);
  }
  return { from, to };
}

function httpUrl(env: Env, name: string): string | undefined {
  const value = text(env, name);
  if (value !== undefined && !/^https?:\/\/[^\s]+$/.test(value)) throw new ConfigError(`${name} must be an http(s) URL`);
  return value;
}

/** A file named by a variable must be readable now, not at the first call that needs it (hours later). */
function readableFile(env: Env, name: string): string | undefined {
  const file = text(env, name);
  if (file === undefined) return undefined;
  try {
    fs.accessSync(file, fs.constants.R_OK);
    if (!fs.statSync(file).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
  } catch (error) {
    throw new ConfigError(`${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  return file;
}

/** Secrets are checked for length only; the message never carries the value. */
function secret(env: Env, name: string, minLength: number, unit: 'bytes' | 'characters'): string | undefined {
  const value = text(env, name);
  if (value === undefined) return undefined;
  const length = unit === 'bytes' ? Buffer.byteLength(value, 'utf8') : value.length;
  if (length < minLength) throw new ConfigError(`${name} must be at least ${minLength} ${unit} long`);
  return value;
}

/** Shortest secrets accepted: HS256 needs 32 bytes of key (RFC 7518 3.2); the session key is derived from 32+ characters. */
export const MIN_JWT_SECRET_BYTES = 32;
export const MIN_SESSION_SECRET_LENGTH = 32;

function bothOrNeither(env: Env, a: string, b: string): void {
  if ((text(env, a) === undefined) !== (text(env, b) === undefined)) {
    throw new ConfigError(`${a} and ${b} must be set together`);
  }
}

export function loadConfig(env: Env = process.env): Config {
  const environment = text(env, 'APP_ENVIRONMENT') ?? 'qa';
  if (environment !== 'qa' && environment !== 'prod') {
    throw new ConfigError(`APP_ENVIRONMENT must be "qa" or "prod", got "${environment}"`);
  }
  const roleNames = list(env, 'ROLES');
  for (const role of roleNames) {
    if (!(ALL_ROLES as readonly string[]).includes(role)) {
      throw new ConfigError(`ROLES may only contain ${ALL_ROLES.join(', ')}; got "${role}"`);
    }
  }
  const databaseUrl = text(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// URL');
  }
  bothOrNeither(env, 'NTJP_TLS_CERT', 'NTJP_TLS_KEY');
  bothOrNeither(env, 'TLS_CERT', 'TLS_KEY');
  if (text(env, 'TLS_CLIENT_CA') !== undefined && text(env, 'TLS_CERT') === undefined) {
    throw new ConfigError('TLS_CLIENT_CA needs TLS_CERT and TLS_KEY');
  }
  const twilioSet = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'].filter((name) => text(env, name) !== undefined).length;
  if (twilioSet !== 0 && twilioSet !== 3) {
    throw new ConfigError('TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM must be set together');
  }
  const ntjpUrl = text(env, 'NTJP_GETBOOKINGDETAILS_URL');
  if (ntjpUrl !== undefined && !/^https?:\/\//.test(ntjpUrl)) {
    throw new ConfigError('NTJP_GETBOOKINGDETAILS_URL must be an http(s) URL');
  }

  if (text(env, 'OIDC_ISSUER') !== undefined && text(env, 'OIDC_CLIENT_ID') === undefined) {
    throw new ConfigError('OIDC_ISSUER needs OIDC_CLIENT_ID');
  }
  const oidcRedirectUri = text(env, 'OIDC_REDIRECT_URI');
  if (oidcRedirectUri !== undefined && !/^https?:\/\//.test(oidcRedirectUri)) {
    throw new ConfigError('OIDC_REDIRECT_URI must be an http(s) URL');
  }
  const bookingServiceVariable = [`BOOKING_SERVICE_URL_${environment.toUpperCase()}`, 'BOOKING_SERVICE_URL'].find((name) => text(env, name) !== undefined);
  const bookingServiceUrl = bookingServiceVariable === undefined ? undefined : text(env, bookingServiceVariable);
  if (bookingServiceUrl !== undefined) {
    const problem = templateProblem(bookingServiceUrl, (text(env, 'NODE_ENV') ?? 'development') === 'production' || environment === 'prod');
    if (problem !== undefined) throw new ConfigError(`${bookingServiceVariable} ${problem}`);
  }
  const devLogin = text(env, 'DEV_LOGIN');
  if (devLogin !== undefined && devLogin !== 'true' && devLogin !== 'false') {
    throw new ConfigError(`DEV_LOGIN must be "true" or "false", got "${devLogin}"`);
  }
  const nodeEnv = text(env, 'NODE_ENV') ?? 'development';
  if (devLogin === 'true' && environment === 'prod') {
    throw new ConfigError('DEV_LOGIN=true is not allowed with APP_ENVIRONMENT=prod: anyone could sign in as anyone');
  }

  let publicBaseUrl = httpUrl(env, 'PUBLIC_BASE_URL');
  // Trailing slashes off (a loop: `/\/+$/` would backtrack quadratically on a long run of slashes).
  while (publicBaseUrl?.endsWith('/')) publicBaseUrl = publicBaseUrl.slice(0, -1);
  if (publicBaseUrl !== undefined) {
    const url = URL.canParse(publicBaseUrl) ? new URL(publicBaseUrl) : undefined;
    if (url === undefined || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      throw new ConfigError('PUBLIC_BASE_URL must be a plain http(s) URL (scheme, host, optional port and path)');
    }
  }
  if (text(env, 'OIDC_ISSUER') !== undefined && oidcRedirectUri === undefined && publicBaseUrl === undefined) {
    throw new ConfigError('OIDC_ISSUER needs PUBLIC_BASE_URL or OIDC_REDIRECT_URI (the redirect is never built from the Host header)');
  }
  const adminIssuer = text(env, 'ADMIN_OIDC_ISSUER');
  const adminRedirectUri = httpUrl(env, 'ADMIN_OIDC_REDIRECT_URI');
  if (adminIssuer !== undefined) {
    if (!/^https?:\/\//.test(adminIssuer)) throw new ConfigError('ADMIN_OIDC_ISSUER must be an http(s) URL');
    if (text(env, 'ADMIN_OIDC_CLIENT_ID') === undefined) throw new ConfigError('ADMIN_OIDC_ISSUER needs ADMIN_OIDC_CLIENT_ID');
    if (adminRedirectUri === undefined && publicBaseUrl === undefined) {
      throw new ConfigError('ADMIN_OIDC_ISSUER needs PUBLIC_BASE_URL or ADMIN_OIDC_REDIRECT_URI');
    }
  }
  const jwksUrl = httpUrl(env, 'AUTH_JWKS_URL');
  if (jwksUrl !== undefined && !URL.canParse(jwksUrl)) throw new ConfigError('AUTH_JWKS_URL must be an http(s) URL');
  const audience = text(env, 'AUTH_JWT_AUDIENCE');
  const issuer = text(env, 'AUTH_JWT_ISSUER');
  if (jwksUrl !== undefined && (audience === undefined || issuer === undefined)) {
    // Keys of a shared identity provider sign tokens for many services: only ours may open /api.
    throw new ConfigError('AUTH_JWKS_URL needs AUTH_JWT_AUDIENCE and AUTH_JWT_ISSUER');
  }

  const twilioApiUrl = httpUrl(env, 'TWILIO_API_URL');
  if (twilioApiUrl !== undefined && !twilioApiUrl.startsWith('https://') && text(env, 'NODE_ENV') === 'production') {
    // The account's credentials go with every request: never in clear text in production.
    throw new ConfigError('TWILIO_API_URL must be an https URL in production');
  }
  const heartbeat = { every: integer(env, 'WORKER_HEARTBEAT_SECONDS', 1, 1, 60), deadAfter: integer(env, 'WORKER_DEAD_AFTER_SECONDS', 5, 2, 600) };
  if (heartbeat.deadAfter < 2 * heartbeat.every) {
    // One late heartbeat (a busy event loop, a slow write) must not make a live process look dead.
    throw new ConfigError('WORKER_DEAD_AFTER_SECONDS must be at least twice WORKER_HEARTBEAT_SECONDS');
  }
  const demo = text(env, 'DEMO');
  if (demo !== undefined && demo !== 'true' && demo !== 'false') {
    throw new ConfigError(`DEMO must be "true" or "false", got "${demo}"`);
  }
  if (demo === 'true') {
    if (environment === 'prod' || text(env, 'NODE_ENV') === 'production') {
      throw new ConfigError('DEMO=true is for development only: refused with APP_ENVIRONMENT=prod or NODE_ENV=production');
    }
    if (ntjpUrl !== undefined) throw new ConfigError('DEMO=true brings its own GetBookingDetails producer: unset NTJP_GETBOOKINGDETAILS_URL');
    if (text(env, 'TLS_CERT') !== undefined) throw new ConfigError('DEMO=true runs on plain HTTP: unset TLS_CERT and TLS_KEY');
  }
  // Off unless asked for; the embedded defaults (what `npm start` runs on a developer's machine) and the
  // demo (development only, refused in production above) keep it on.
  const developmentSignIn =
    devLogin === undefined
      ? (databaseUrl === undefined || demo === 'true') && environment !== 'prod' && nodeEnv !== 'production'
      : devLogin === 'true';

  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    dataDir: path.resolve(text(env, 'DATA_DIR') ?? './data'),
    databaseUrl,
    environment,
    consumerHsaId: text(env, 'CONSUMER_HSA_ID') ?? 'SE-DEV-INBOX',
    ntjp: {
      getBookingDetailsUrl: ntjpUrl,
      tlsCert: readableFile(env, 'NTJP_TLS_CERT'),
      tlsKey: readableFile(env, 'NTJP_TLS_KEY'),
      tlsCa: readableFile(env, 'NTJP_TLS_CA'),
    },
    tls: {
      cert: readableFile(env, 'TLS_CERT'),
      key: readableFile(env, 'TLS_KEY'),
      clientCa: readableFile(env, 'TLS_CLIENT_CA'),
      allowedClients: list(env, 'TLS_ALLOWED_CLIENTS'),
    },
    kafkaBrokers: list(env, 'KAFKA_BROKERS'),
    kafkaTopicPrefix: kafkaTopicPrefix(env),
    smtp: { url: text(env, 'SMTP_URL'), from: text(env, 'MAIL_FROM') ?? '1177 Inkorgen <no-reply@1177.se>' },
    inboxUrl: httpUrl(env, 'INBOX_URL') ?? DEFAULT_INBOX_URL,
    twilio: {
      accountSid: text(env, 'TWILIO_ACCOUNT_SID'),
      authToken: text(env, 'TWILIO_AUTH_TOKEN'),
      from: text(env, 'TWILIO_FROM'),
      statusCallbackUrl: httpUrl(env, 'TWILIO_STATUS_CALLBACK_URL'),
      apiUrl: twilioApiUrl,
    },
    auth: { jwksUrl, jwtSecret: secret(env, 'AUTH_JWT_SECRET', MIN_JWT_SECRET_BYTES, 'bytes'), audience, issuer },
    publicBaseUrl,
    rebookWindowSeconds: integer(env, 'REBOOK_WINDOW_SECONDS', 120, 0, 86_400),
    redeliveryWindowSeconds: integer(env, 'REDELIVERY_WINDOW_SECONDS', 300, 0, 86_400),
    ingestThreads: integer(env, 'INGEST_THREADS', Math.min(4, os.availableParallelism()), 0, 64),
    notificationRetryHours: integer(env, 'NOTIFICATION_RETRY_HOURS', 48, 1, 24 * 30),
    ntjpMaxCallsPerSecond: integer(env, 'NTJP_MAX_CALLS_PER_SECOND', 100, 1, 100_000),
    workerLeaseSeconds: integer(env, 'WORKER_LEASE_SECONDS', 60, 1, 3600),
    workerHeartbeatSeconds: heartbeat.every,
    workerDeadAfterSeconds: heartbeat.deadAfter,
    notifyDigestSeconds: integer(env, 'NOTIFY_DIGEST_SECONDS', 60, 0, 86_400),
    smsDailyCap: integer(env, 'SMS_DAILY_CAP', 5, 1, 1000),
    smsQuietHours: quietHours(env),
    floodGuard: {
      threshold: integer(env, 'FLOOD_GUARD_THRESHOLD', 50, 0, 1_000_000),
      windowSeconds: integer(env, 'FLOOD_GUARD_WINDOW_SECONDS', 900, 1, 86_400),
      watchHours: integer(env, 'FLOOD_GUARD_WATCH_HOURS', 24, 1, 24 * 365),
      dormantDays: integer(env, 'FLOOD_GUARD_DORMANT_DAYS', 30, 1, 3650),
      alertHours: integer(env, 'FLOOD_GUARD_ALERT_HOURS', 4, 1, 24 * 365),
      expireDays: integer(env, 'FLOOD_GUARD_EXPIRE_DAYS', 14, 1, 3650),
    },
    roles: new Set<Role>(roleNames.length > 0 ? (roleNames as Role[]) : ALL_ROLES),
    oidc: {
      issuer: text(env, 'OIDC_ISSUER'),
      clientId: text(env, 'OIDC_CLIENT_ID'),
      clientSecret: text(env, 'OIDC_CLIENT_SECRET'),
      personalNumberClaim: text(env, 'OIDC_PERSONAL_NUMBER_CLAIM') ?? 'sub',
      redirectUri: oidcRedirectUri,
    },
    adminOidc: {
      issuer: adminIssuer,
      clientId: text(env, 'ADMIN_OIDC_CLIENT_ID'),
      clientSecret: text(env, 'ADMIN_OIDC_CLIENT_SECRET'),
      roleClaim: text(env, 'ADMIN_OIDC_ROLE_CLAIM') ?? 'roles',
      redirectUri: adminRedirectUri,
    },
    developmentSignIn,
    demo: demo === 'true',
    session: { secret: secret(env, 'SESSION_SECRET', MIN_SESSION_SECRET_LENGTH, 'characters'), idleMinutes: integer(env, 'SESSION_IDLE_MINUTES', 30, 1, 24 * 60) },
    bookingServiceUrl,
    retention: {
      queueDays: integer(env, 'RETENTION_QUEUE_DAYS', 7, 1, 36_500),
      deadLetterDays: integer(env, 'RETENTION_DEAD_LETTER_DAYS', 90, 1, 36_500),
      callDays: integer(env, 'RETENTION_CALL_DAYS', 30, 1, 36_500),
      rejectedDays: integer(env, 'RETENTION_REJECTED_DAYS', 30, 1, 36_500),
      postDays: integer(env, 'RETENTION_POST_DAYS', 90, 1, 36_500),
      messageDays: integer(env, 'RETENTION_MESSAGE_DAYS', 730, 1, 36_500),
      deliveryDays: integer(env, 'RETENTION_DELIVERY_DAYS', 90, 1, 36_500),
      auditDays: integer(env, 'RETENTION_AUDIT_DAYS', 1825, 1, 36_500),
      intervalMinutes: integer(env, 'RETENTION_INTERVAL_MINUTES', 60, 0, 10_080),
      batchSize: integer(env, 'RETENTION_BATCH_SIZE', 1000, 10, 100_000),
    },
    nodeEnv,
    logLevel: text(env, 'LOG_LEVEL') ?? 'info',
  };
}
