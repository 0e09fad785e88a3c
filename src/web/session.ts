// Sessions of the pages (/admin, /inbox): one cookie holding the session itself, encrypted and
// authenticated with jose (JWE, dir + A256GCM), so that nobody can read or forge it and no session
// table is needed. HttpOnly, SameSite=Lax, Secure in production or behind TLS. A session holds either a
// citizen or an administrator identity (or none yet), a CSRF token for every form, and short-lived
// values of a sign-in in progress (e.g. OpenID Connect state and nonce).
import { hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { EncryptJWT, jwtDecrypt } from 'jose';
import { readOrCreateSecretFile } from '../auth/secret-file.js';
import { ConfigError, type Config } from '../config.js';

export type SessionIdentity =
  | { kind: 'admin'; name: string; /** May trace by personal identity number. */ support?: boolean }
  | { kind: 'citizen'; /** Never log it. */ personalNumber: string };

export interface Session {
  readonly identity: SessionIdentity | undefined;
  /** Goes into every form as the hidden field `_csrf` (or the header `x-csrf-token`). */
  readonly csrfToken: string;
  /** Values of a sign-in in progress; cleared by signIn and signOut. */
  readonly pending: Readonly<Record<string, string>>;
}

export interface SessionManager {
  /** Loads the session into the request (starting an anonymous one if there is none). Mount before pages. */
  readonly load: RequestHandler;
  /** Refuses (403) a state-changing request whose CSRF token does not match. Mount after a body parser. */
  readonly verifyCsrf: RequestHandler;
  /** Starts a signed-in session with a new CSRF token (so nothing from before sign-in carries over). */
  signIn(res: Response, identity: SessionIdentity): Promise<Session>;
  signOut(res: Response): Promise<Session>;
  /** Keeps `values` in the session until sign-in ends (e.g. { oidcState, oidcNonce }). */
  setPending(res: Response, values: Record<string, string>): Promise<Session>;
}

export interface SessionOptions {
  /** At least 32 characters: SESSION_SECRET or DATA_DIR/session-secret (sessionSecretOf). */
  secret: string;
  /** Secure cookie (HTTPS only); the cookie is then named with the __Host- prefix. */
  secure: boolean;
  /** Lifetime of a session; it does not slide. Default 8 hours. */
  maxAgeSeconds?: number;
}

export const SESSION_SECRET_FILE = 'session-secret';
const MIN_SECRET_LENGTH = 32;
const DEFAULT_MAX_AGE_SECONDS = 8 * 3600;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** SESSION_SECRET, or a secret generated once into DATA_DIR/session-secret. */
export function sessionSecretOf(config: Pick<Config, 'session' | 'dataDir'>): string {
  const secret = config.session.secret ?? readOrCreateSecretFile(config.dataDir, SESSION_SECRET_FILE);
  if (secret.length < MIN_SECRET_LENGTH) throw new ConfigError(`SESSION_SECRET must be at least ${MIN_SECRET_LENGTH} characters long`);
  return secret;
}

/** The options for this configuration: Secure cookies in production and when serving TLS. */
export function sessionOptionsOf(config: Pick<Config, 'session' | 'dataDir' | 'nodeEnv' | 'tls'>): SessionOptions {
  return { secret: sessionSecretOf(config), secure: config.nodeEnv === 'production' || config.tls.cert !== undefined };
}

/** The session of this request (after `load`). */
export function sessionOf(res: Response): Session {
  const session = res.locals.session as Session | undefined;
  if (!session) throw new Error('sessionOf: the session manager\'s load did not run for this route');
  return session;
}

function newCsrfToken(): string {
  return randomBytes(24).toString('base64url');
}

function isIdentity(value: unknown): value is SessionIdentity {
  if (typeof value !== 'object' || value === null) return false;
  const identity = value as Record<string, unknown>;
  if (identity.kind === 'admin') return typeof identity.name === 'string' && identity.name !== '';
  if (identity.kind === 'citizen') return typeof identity.personalNumber === 'string' && /^\d{12}$/.test(identity.personalNumber);
  return false;
}

function isPending(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((item) => typeof item === 'string');
}

export function createSessionManager(options: SessionOptions): SessionManager {
  if (options.secret.length < MIN_SECRET_LENGTH) throw new ConfigError(`The session secret must be at least ${MIN_SECRET_LENGTH} characters long`);
  // A key of its own for sessions, even when the secret is shared with something else.
  const key = new Uint8Array(hkdfSync('sha256', options.secret, 'ei-inbox', 'session cookie A256GCM', 32));
  const cookieName = options.secure ? '__Host-ei_session' : 'ei_session';
  const maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;

  async function save(res: Response, session: Session): Promise<Session> {
    const value = await new EncryptJWT({ identity: session.identity ?? null, csrf: session.csrfToken, pending: session.pending })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(`${maxAge}s`)
      .encrypt(key);
    res.append(
      'Set-Cookie',
      stringifySetCookie(cookieName, value, { httpOnly: true, sameSite: 'lax', secure: options.secure, path: '/', maxAge }),
    );
    res.locals.session = session;
    return session;
  }

  async function read(req: Request): Promise<Session | undefined> {
    const value = parseCookie(req.get('cookie') ?? '')[cookieName];
    if (!value) return undefined;
    try {
      const { payload } = await jwtDecrypt(value, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
      if (typeof payload.csrf !== 'string' || !isPending(payload.pending)) return undefined;
      return {
        identity: isIdentity(payload.identity) ? payload.identity : undefined,
        csrfToken: payload.csrf,
        pending: payload.pending,
      };
    } catch {
      // Expired, tampered with, or made with another secret: start over as if there were none.
      return undefined;
    }
  }

  const load: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    read(req)
      .then(async (session) => {
        if (session) res.locals.session = session;
        else await save(res, { identity: undefined, csrfToken: newCsrfToken(), pending: {} });
        next();
      })
      .catch(next);
  };

  const verifyCsrf: RequestHandler = (req, res, next) => {
    if (SAFE_METHODS.has(req.method)) {
      next();
      return;
    }
    const session = res.locals.session as Session | undefined;
    const body = req.body as Record<string, unknown> | undefined;
    const given = (typeof body?._csrf === 'string' ? body._csrf : undefined) ?? req.get('x-csrf-token') ?? '';
    const expected = session?.csrfToken ?? '';
    const a = Buffer.from(given);
    const b = Buffer.from(expected);
    if (expected === '' || a.length !== b.length || !timingSafeEqual(a, b)) {
      res.status(403).type('text/plain; charset=utf-8').send('Formuläret har gått ut eller kom från en annan webbplats. Ladda om sidan och försök igen.');
      return;
    }
    next();
  };

  return {
    load,
    verifyCsrf,
    signIn: (res, identity) => save(res, { identity, csrfToken: newCsrfToken(), pending: {} }),
    signOut: (res) => save(res, { identity: undefined, csrfToken: newCsrfToken(), pending: {} }),
    setPending: (res, values) => {
      const current = res.locals.session as Session | undefined;
      return save(res, { identity: current?.identity, csrfToken: current?.csrfToken ?? newCsrfToken(), pending: { ...values } });
    },
  };
}
