// Bearer tokens for tests: the development tokens of `npm run token`, and deliberately bad ones.
import { SignJWT, type JWTPayload } from 'jose';
import { jwtSecretOf, signDevelopmentToken, type AuthConfig } from '../../src/auth/index.js';

export function adminToken(config: AuthConfig, name = 'Test Admin'): Promise<string> {
  return signDevelopmentToken(config, 'admin', name);
}

export function citizenToken(config: AuthConfig, personalNumber = '191212121212'): Promise<string> {
  return signDevelopmentToken(config, 'citizen', personalNumber);
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** An HS256 token with any claims (default: a valid administrator), signed with `secret` (default: the configured one). */
export function signedToken(
  config: AuthConfig,
  claims: JWTPayload,
  options: { secret?: Uint8Array; alg?: string; expiresAt?: number } = {},
): Promise<string> {
  const secret = options.secret ?? jwtSecretOf(config)!;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 600)
    .sign(secret);
}

/** An unsecured JWT (`alg: none`), as an attacker would send it. */
export function unsignedToken(claims: JWTPayload): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ exp: Math.floor(Date.now() / 1000) + 600, ...claims })}.`;
}

export const ADMIN_CLAIMS: JWTPayload = { sub: 'mallory', name: 'Mallory', roles: ['national-admin'] };
