// Sessions of the pages (/admin, /inbox). The cookie is encrypted and authenticated with jose (JWE,
// dir + A256GCM): HttpOnly, SameSite=Lax, Secure in production or behind TLS. It holds a CSRF token for
// every form and short-lived values of a sign-in in progress (e.g. OpenID Connect state and nonce);
// visitors who are not signed in cost no server state. A signed-in session is a row in `web_session`
// (the cookie carries its random id): signing out, staying away longer than the idle timeout, or the
// session's maximum age end the row, and a cookie whose row has ended opens nothing any more.
import { createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import { and, eq, isNull, lt } from 'drizzle-orm';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { EncryptJWT, jwtDecrypt } from 'jose';
import { readOrCreateSecretFile } from '../auth/index.js';
import { ConfigError, MIN_SESSION_SECRET_LENGTH, type Config } from '../config.js';
import type { Database } from '../db/index.js';
import { webSessions } from './schema.js';

export type SessionIdentity =
  | { kind: 'admin'; name: string; /** May trace by personal identity number. */ support?: boolean }
  | {
      kind: 'citizen';
      /** Never log it. */ personalNumber: string;
      /** From the sign-in's name claims, for the page header. */ name?: string;
    };

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
  /** A signed-in session unused this long is ended (SESSION_IDLE_MINUTES). Default 30 minutes. */
  idleSeconds?: number;
}

export interface SessionStore {
  database: Pick<Database, 'orm'>;
  now?: () => Date;
}

export const SESSION_SECRET_FILE = 'session-secret';
const MIN_SECRET_LENGTH = MIN_SESSION_SECRET_LENGTH;
const DEFAULT_MAX_AGE_SECONDS = 8 * 3600;
const DEFAULT_IDLE_SECONDS = 30 * 60;
/** last_seen_at is written at most this often per session (a page view need not always write). */
const TOUCH_INTERVAL_MS = 30_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * SESSION_SECRET (its length is loadConfig's rule), or a secret generated once into DATA_DIR/session-secret;
 * the file's length is checked here, as the file does not pass through loadConfig (it may have been edited).
 */
export function sessionSecretOf(config: Pick<Config, 'session' | 'dataDir'>): string {
  if (config.session.secret !== undefined) return config.session.secret;
  const secret = readOrCreateSecretFile(config.dataDir, SESSION_SECRET_FILE);
  if (secret.length < MIN_SECRET_LENGTH)
    throw new ConfigError(`DATA_DIR/${SESSION_SECRET_FILE} must be at least ${MIN_SECRET_LENGTH} characters long`);
  return secret;
}

/** The options for this configuration: Secure cookies in production and when serving TLS. */
export function sessionOptionsOf(config: Pick<Config, 'session' | 'dataDir' | 'nodeEnv' | 'tls'>): SessionOptions {
  return {
    secret: sessionSecretOf(config),
    secure: config.nodeEnv === 'production' || config.tls.cert !== undefined,
    idleSeconds: config.session.idleMinutes * 60,
  };
}

/** The session of this request (after `load`). */
export function sessionOf(res: Response): Session {
  const session = res.locals.session as Session | undefined;
  if (!session) throw new Error("sessionOf: the session manager's load did not run for this route");
  return session;
}

function newCsrfToken(): string {
  return randomBytes(24).toString('base64url');
}

function isIdentity(value: unknown): value is SessionIdentity {
  if (typeof value !== 'object' || value === null) return false;
  const identity = value as Record<string, unknown>;
  if (identity.kind === 'admin') return typeof identity.name === 'string' && identity.name !== '';
  if (identity.kind === 'citizen') {
    return (
      typeof identity.personalNumber === 'string' &&
      /^\d{12}$/.test(identity.personalNumber) &&
      (identity.name === undefined || (typeof identity.name === 'string' && identity.name.length <= 100))
    );
  }
  return false;
}

function isPending(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((item) => typeof item === 'string');
}

function hashOf(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex');
}

interface CookieState {
  /** The signed-in session's id (its row is `web_session` with hashOf(sid)); absent: not signed in. */
  sid: string | undefined;
  csrf: string;
  pending: Record<string, string>;
  /** A signed-in citizen's name from the sign-in, for the page banner; only with `sid`. Not in the session row. */
  name?: string;
}

export function createSessionManager(options: SessionOptions, store: SessionStore): SessionManager {
  if (options.secret.length < MIN_SECRET_LENGTH)
    throw new ConfigError(`The session secret must be at least ${MIN_SECRET_LENGTH} characters long`);
  // A key of its own for sessions, even when the secret is shared with something else.
  const key = new Uint8Array(hkdfSync('sha256', options.secret, 'ei-inbox', 'session cookie A256GCM', 32));
  const cookieName = options.secure ? '__Host-ei_session' : 'ei_session';
  const maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  const idleMs = (options.idleSeconds ?? DEFAULT_IDLE_SECONDS) * 1000;
  const { orm } = store.database;
  const now = store.now ?? (() => new Date());

  async function save(res: Response, state: CookieState, identity: SessionIdentity | undefined): Promise<Session> {
    const value = await new EncryptJWT({
      ...(state.sid !== undefined && { sid: state.sid }),
      ...(state.sid !== undefined && state.name !== undefined && { name: state.name }),
      csrf: state.csrf,
      pending: state.pending,
    })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(`${maxAge}s`)
      .encrypt(key);
    res.append(
      'Set-Cookie',
      stringifySetCookie(cookieName, value, {
        httpOnly: true,
        sameSite: 'lax',
        secure: options.secure,
        path: '/',
        maxAge,
      }),
    );
    const session: Session = { identity, csrfToken: state.csrf, pending: state.pending };
    res.locals.session = session;
    res.locals.sessionCookie = state;
    return session;
  }

  async function readCookie(req: Request): Promise<CookieState | undefined> {
    const value = parseCookie(req.get('cookie') ?? '')[cookieName];
    if (!value) return undefined;
    try {
      const { payload } = await jwtDecrypt(value, key, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      if (typeof payload.csrf !== 'string' || !isPending(payload.pending)) return undefined;
      const name = typeof payload.name === 'string' && payload.name.length <= 100 ? payload.name : undefined;
      return {
        sid: typeof payload.sid === 'string' ? payload.sid : undefined,
        csrf: payload.csrf,
        pending: payload.pending,
        ...(name !== undefined && { name }),
      };
    } catch {
      // Expired, tampered with, or made with another secret: start over as if there were none.
      return undefined;
    }
  }

  /** The identity of a live session row; an idle or too old one is ended here. */
  async function identityOf(sid: string): Promise<SessionIdentity | undefined> {
    const idHash = hashOf(sid);
    const [row] = await orm.select().from(webSessions).where(eq(webSessions.idHash, idHash));
    if (!row || row.endedAt !== null) return undefined;
    const at = now();
    const reason =
      at.getTime() - row.createdAt.getTime() > maxAge * 1000
        ? 'expired'
        : at.getTime() - row.lastSeenAt.getTime() > idleMs
          ? 'idle'
          : undefined;
    if (reason !== undefined) {
      await orm
        .update(webSessions)
        .set({ endedAt: at, endReason: reason })
        .where(and(eq(webSessions.idHash, idHash), isNull(webSessions.endedAt)));
      return undefined;
    }
    if (at.getTime() - row.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
      await orm.update(webSessions).set({ lastSeenAt: at }).where(eq(webSessions.idHash, idHash));
    }
    const identity =
      row.kind === 'admin'
        ? { kind: 'admin' as const, name: row.subject, ...(row.support ? { support: true } : {}) }
        : { kind: 'citizen' as const, personalNumber: row.subject };
    return isIdentity(identity) ? identity : undefined;
  }

  async function endCurrent(res: Response, reason: 'sign-out'): Promise<void> {
    const sid = (res.locals.sessionCookie as CookieState | undefined)?.sid;
    if (sid === undefined) return;
    await orm
      .update(webSessions)
      .set({ endedAt: now(), endReason: reason })
      .where(and(eq(webSessions.idHash, hashOf(sid)), isNull(webSessions.endedAt)));
  }

  const load: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    (async () => {
      const state = await readCookie(req);
      if (!state) {
        await save(res, { sid: undefined, csrf: newCsrfToken(), pending: {} }, undefined);
        return;
      }
      const stored = state.sid === undefined ? undefined : await identityOf(state.sid);
      const identity =
        stored?.kind === 'citizen' && state.name !== undefined ? { ...stored, name: state.name } : stored;
      if (state.sid !== undefined && identity === undefined) {
        // The session ended (signed out, idle, too old): this cookie is anonymous from now on, with a new token.
        await save(res, { sid: undefined, csrf: newCsrfToken(), pending: {} }, undefined);
        return;
      }
      res.locals.session = { identity, csrfToken: state.csrf, pending: state.pending } satisfies Session;
      res.locals.sessionCookie = state;
    })().then(() => next(), next);
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
      res
        .status(403)
        .type('text/plain; charset=utf-8')
        .send('Formuläret har gått ut eller kom från en annan webbplats. Ladda om sidan och försök igen.');
      return;
    }
    next();
  };

  return {
    load,
    verifyCsrf,
    async signIn(res, identity) {
      await endCurrent(res, 'sign-out');
      const at = now();
      // Rows of sessions that can no longer be used are kept only a day, for whoever investigates.
      await orm
        .delete(webSessions)
        .where(lt(webSessions.lastSeenAt, new Date(at.getTime() - Math.max(maxAge * 1000, idleMs) - 86_400_000)));
      const sid = randomBytes(32).toString('base64url');
      await orm.insert(webSessions).values({
        idHash: hashOf(sid),
        kind: identity.kind,
        subject: identity.kind === 'admin' ? identity.name : identity.personalNumber,
        support: identity.kind === 'admin' && identity.support === true,
        createdAt: at,
        lastSeenAt: at,
      });
      const name = identity.kind === 'citizen' ? identity.name : undefined;
      return save(res, { sid, csrf: newCsrfToken(), pending: {}, ...(name !== undefined && { name }) }, identity);
    },
    async signOut(res) {
      await endCurrent(res, 'sign-out');
      return save(res, { sid: undefined, csrf: newCsrfToken(), pending: {} }, undefined);
    },
    setPending: (res, values) => {
      const current = res.locals.sessionCookie as CookieState | undefined;
      const session = res.locals.session as Session | undefined;
      return save(
        res,
        {
          sid: current?.sid,
          csrf: current?.csrf ?? newCsrfToken(),
          pending: { ...values },
          ...(current?.name !== undefined && { name: current.name }),
        },
        session?.identity,
      );
    },
  };
}
