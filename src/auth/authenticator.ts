// Bearer JWTs for the whole /api (CONTRACT §4), verified with jose: HS256 with AUTH_JWT_SECRET (or, on
// embedded defaults, a secret generated once into DATA_DIR/jwt-secret), and/or RS/PS/ES/EdDSA keys from
// AUTH_JWKS_URL. Each key only verifies its own algorithms, so `alg: none` and algorithm confusion are
// refused. `aud` and `iss` are checked when AUTH_JWT_AUDIENCE / AUTH_JWT_ISSUER are set (required with a
// JWKS). A citizen is the claim `sub` (12-digit personal identity number); a national administrator
// has `roles` containing `national-admin`.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { ConfigError, type Config } from '../config.js';
import { HttpError, sendError } from '../http/index.js';
import { readOrCreateSecretFile } from './secret-file.js';

export const ADMIN_ROLE = 'national-admin';
/** With ADMIN_ROLE: may look bookings up by personal identity number (each look-up audited with a reason). */
export const SUPPORT_ROLE = 'support';
export const JWT_SECRET_FILE = 'jwt-secret';
const HS_ALGORITHM = 'HS256';
const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];
const CLOCK_TOLERANCE_SECONDS = 5;
const PERSONAL_NUMBER = /^\d{12}$/;

export type AuthConfig = Pick<Config, 'auth' | 'dataDir'>;

export interface CitizenIdentity {
  kind: 'citizen';
  /** 12-digit personal identity number (the token's `sub`). Never log it. */
  personalNumber: string;
}

export interface AdminIdentity {
  kind: 'admin';
  /** The token's `sub`. */
  subject: string;
  /** For the audit log: the token's `name`, `preferred_username` or `sub`. */
  name: string;
  /** Also has the support role (SUPPORT_ROLE): may trace a citizen's bookings by personal identity number. */
  support: boolean;
}

export interface Authenticator {
  /** The verified claims of a token; throws HttpError 401 (code `invalid_token`) otherwise. */
  verifyToken(token: string): Promise<JWTPayload>;
  /** Lets only national administrators through; `adminOf(res)` then gives who it is. */
  requireAdmin: RequestHandler;
  /** Lets only citizens through; `citizenOf(res)` then gives whose data may be read. */
  requireCitizen: RequestHandler;
}

/** The HS256 secret: AUTH_JWT_SECRET, else (without AUTH_JWKS_URL) DATA_DIR/jwt-secret, generated once. */
export function jwtSecretOf(config: AuthConfig): Uint8Array | undefined {
  if (config.auth.jwtSecret !== undefined) {
    // Its length (RFC 7518 §3.2: at least the hash's 256 bits, MIN_JWT_SECRET_BYTES) is loadConfig's rule.
    return new TextEncoder().encode(config.auth.jwtSecret);
  }
  if (config.auth.jwksUrl !== undefined) return undefined;
  return new TextEncoder().encode(readOrCreateSecretFile(config.dataDir, JWT_SECRET_FILE));
}

export function createAuthenticator(config: AuthConfig): Authenticator {
  const secret = jwtSecretOf(config);
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  if (config.auth.jwksUrl !== undefined) {
    // A URL: loadConfig refuses AUTH_JWKS_URL otherwise.
    jwks = createRemoteJWKSet(new URL(config.auth.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
  }
  const algorithms = [...(secret ? [HS_ALGORITHM] : []), ...(jwks ? ASYMMETRIC_ALGORITHMS : [])];

  // The header's algorithm picks the key: HS256 only ever meets the secret, the rest only the JWKS.
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (header.alg === HS_ALGORITHM && secret) return secret;
    if (jwks && header.alg !== undefined && ASYMMETRIC_ALGORITHMS.includes(header.alg)) return jwks(header, token);
    throw new joseErrors.JOSEAlgNotAllowed(`"alg" (Algorithm) Header Parameter value not allowed`);
  };

  async function verifyToken(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, getKey, {
        algorithms,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        // A token made for another service (or by another issuer) of the same identity provider is refused.
        ...(config.auth.audience !== undefined && { audience: config.auth.audience }),
        ...(config.auth.issuer !== undefined && { issuer: config.auth.issuer }),
      });
      // `sub` names who acts (and whose data is read): text only, never a number or a list.
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        throw new joseErrors.JWTClaimValidationFailed(
          '"sub" claim must be a non-empty string',
          payload,
          'sub',
          'check_failed',
        );
      }
      return payload;
    } catch (error) {
      // The identity provider's keys out of reach is our trouble, not a bad token: the caller may retry.
      if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
        throw new HttpError(503, 'auth_unavailable', 'The keys to verify the token could not be fetched; try again');
      }
      throw new HttpError(401, 'invalid_token', describeRefusal(error));
    }
  }

  async function claimsOf(req: Request): Promise<JWTPayload> {
    const header = req.get('authorization');
    if (header === undefined || header.trim() === '') {
      throw new HttpError(401, 'unauthenticated', 'This call needs "Authorization: Bearer <token>"');
    }
    const match = /^Bearer +([^ ]+) *$/i.exec(header.trim());
    if (!match) throw new HttpError(401, 'invalid_token', 'The Authorization header must read "Bearer <token>"');
    return verifyToken(match[1]!);
  }

  function guard(check: (claims: JWTPayload, res: Response) => void): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      claimsOf(req)
        .then((claims) => {
          check(claims, res);
          next();
        })
        .catch((error: unknown) => {
          if (!(error instanceof HttpError)) {
            next(error);
            return;
          }
          if (error.status === 401) {
            const problem = error.code === 'unauthenticated' ? '' : `, error="invalid_token"`;
            res.set('WWW-Authenticate', `Bearer realm="ei-inbox"${problem}`);
          }
          sendError(res, error.status, error.code, error.message);
        });
    };
  }

  return {
    verifyToken,
    requireAdmin: guard((claims, res) => {
      if (!hasAdminRole(claims)) {
        throw new HttpError(
          403,
          'forbidden',
          `This call is for national administrators (claim "roles" with "${ADMIN_ROLE}")`,
        );
      }
      const identity: AdminIdentity = {
        kind: 'admin',
        subject: claims.sub!,
        name: displayName(claims),
        support: hasRole(claims, SUPPORT_ROLE),
      };
      res.locals.admin = identity;
    }),
    requireCitizen: guard((claims, res) => {
      if (!PERSONAL_NUMBER.test(claims.sub ?? '')) {
        throw new HttpError(
          403,
          'forbidden',
          'This call is for citizens (claim "sub" with a 12-digit personal identity number)',
        );
      }
      const identity: CitizenIdentity = { kind: 'citizen', personalNumber: claims.sub! };
      res.locals.citizen = identity;
    }),
  };
}

/** Who the administrator of this request is (after requireAdmin). */
export function adminOf(res: Response): AdminIdentity {
  const identity = res.locals.admin as AdminIdentity | undefined;
  if (identity?.kind !== 'admin') throw new Error('adminOf: requireAdmin did not run for this route');
  return identity;
}

/** Which citizen this request is for (after requireCitizen). */
export function citizenOf(res: Response): CitizenIdentity {
  const identity = res.locals.citizen as CitizenIdentity | undefined;
  if (identity?.kind !== 'citizen') throw new Error('citizenOf: requireCitizen did not run for this route');
  return identity;
}

function hasAdminRole(claims: JWTPayload): boolean {
  return hasRole(claims, ADMIN_ROLE);
}

function hasRole(claims: JWTPayload, role: string): boolean {
  const roles = claims.roles;
  // Some identity providers send a single role, or a space-separated list, as a string.
  if (typeof roles === 'string')
    return roles
      .slice(0, 2000)
      .split(/[\s,]+/)
      .includes(role);
  return Array.isArray(roles) && roles.includes(role);
}

function displayName(claims: JWTPayload): string {
  for (const claim of ['name', 'preferred_username']) {
    const value = claims[claim];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return claims.sub!;
}

function describeRefusal(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The token has expired';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature is not valid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The token algorithm is not accepted';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `The token is not valid: ${error.message}`;
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'The token was signed with an unknown key';
  return 'The token is not a valid JWT';
}

export type DevelopmentTokenKind = 'citizen' | 'admin' | 'support';

export interface DevelopmentTokenOptions {
  /** jose time span, e.g. "12h", or seconds; default 12 hours. */
  expiresIn?: string | number;
}

/**
 * A token for development and tests, signed with the configured HS256 secret:
 * `citizen <12 digits>` (sub), `admin <name>` (sub and name, roles [national-admin]), or `support <name>`
 * (roles [national-admin, support]).
 */
export async function signDevelopmentToken(
  config: AuthConfig,
  kind: DevelopmentTokenKind,
  subject: string,
  options: DevelopmentTokenOptions = {},
): Promise<string> {
  const secret = jwtSecretOf(config);
  if (!secret) {
    throw new ConfigError('Only AUTH_JWKS_URL is configured: tokens come from the identity provider, not from here');
  }
  let claims: JWTPayload;
  if (kind === 'citizen') {
    if (!PERSONAL_NUMBER.test(subject))
      throw new TypeError('A citizen token needs a 12-digit personal identity number');
    claims = {};
  } else {
    if (subject.trim() === '') throw new TypeError('An administrator token needs a name');
    claims = { name: subject.trim(), roles: kind === 'support' ? [ADMIN_ROLE, SUPPORT_ROLE] : [ADMIN_ROLE] };
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg: HS_ALGORITHM, typ: 'JWT' })
    .setSubject(kind === 'citizen' ? subject : subject.trim())
    .setIssuer(config.auth.issuer ?? 'ei-inbox-development')
    .setAudience(config.auth.audience ?? 'ei-inbox')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h')
    .sign(secret);
}
