// Bearer tokens on /api over real HTTP: the real app for the administrator API, and small express
// apps with the same authenticator for citizens and for keys from a (local, real) JWKS endpoint.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { citizenOf, createAuthenticator, signDevelopmentToken, type AuthConfig } from '../../src/auth/index.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { jsonErrorHandler } from '../../src/http/errors.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ADMIN_CLAIMS, adminToken, bearer, citizenToken, signedToken, unsignedToken } from '../helpers/auth.js';

let t: TestApp;
const servers: http.Server[] = [];

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  for (const server of servers) server.close();
  await t?.close();
});

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An app with one citizen route and one administrator route behind `config`'s authenticator. */
async function protectedApp(config: AuthConfig): Promise<string> {
  const authenticator = createAuthenticator(config);
  const app = express();
  app.get('/citizen', authenticator.requireCitizen, (_req, res) => {
    res.json({ citizen: citizenOf(res).personalNumber });
  });
  app.get('/admin', authenticator.requireAdmin, (_req, res) => {
    res.json({ admin: (res.locals.admin as { name: string }).name });
  });
  app.use(jsonErrorHandler());
  return listen(app);
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ei-auth-'));
}

async function call(token: string | undefined, headers: Record<string, string> = {}) {
  const response = await fetch(`${t.url}/api/admin/source-systems`, {
    headers: { ...(token !== undefined && bearer(token)), ...headers },
  });
  return {
    status: response.status,
    authenticate: response.headers.get('www-authenticate'),
    body: (await response.json()) as { error?: { code: string; message: string } },
  };
}

describe('Bearer tokens on the administrator API', () => {
  it("When a national administrator's development token is sent, then the call is answered", async () => {
    const answer = await call(await adminToken(t.app.config));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ items: [] });
  });

  it('When no Authorization header is sent, then 401 unauthenticated with a Bearer challenge', async () => {
    const answer = await call(undefined);
    expect(answer.status).toBe(401);
    expect(answer.body.error).toMatchObject({ code: 'unauthenticated' });
    expect(answer.authenticate).toBe('Bearer realm="ei-inbox"');
  });

  it('When another scheme than Bearer is used, then 401 invalid_token', async () => {
    const answer = await call(undefined, { authorization: 'Basic YWRtaW46YWRtaW4=' });
    expect(answer.status).toBe(401);
    expect(answer.body.error?.code).toBe('invalid_token');
  });

  it("When a citizen's token is sent, then 403 forbidden", async () => {
    const answer = await call(await citizenToken(t.app.config));
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({ code: 'forbidden' });
    expect(answer.body.error?.message).toContain('national-admin');
  });

  it('When the token has expired, then 401 saying so', async () => {
    const expired = await signedToken(t.app.config, ADMIN_CLAIMS, { expiresAt: Math.floor(Date.now() / 1000) - 60 });
    const answer = await call(expired);
    expect(answer.status).toBe(401);
    expect(answer.body.error).toEqual({ code: 'invalid_token', message: 'The token has expired' });
    expect(answer.authenticate).toContain('error="invalid_token"');
  });

  it('When the token is signed with another secret, then 401 for the signature', async () => {
    const forged = await signedToken(t.app.config, ADMIN_CLAIMS, { secret: new TextEncoder().encode('x'.repeat(40)) });
    const answer = await call(forged);
    expect(answer.status).toBe(401);
    expect(answer.body.error).toEqual({ code: 'invalid_token', message: 'The token signature is not valid' });
  });

  it('When the claims of a citizen token are edited to add the administrator role, then the signature no longer holds: 401', async () => {
    const [header, , signature] = (await citizenToken(t.app.config)).split('.');
    const payload = Buffer.from(JSON.stringify({ ...ADMIN_CLAIMS, exp: Math.floor(Date.now() / 1000) + 600 })).toString(
      'base64url',
    );
    const answer = await call(`${header}.${payload}.${signature}`);
    expect(answer.status).toBe(401);
    expect(answer.body.error?.code).toBe('invalid_token');
  });

  it('When an unsigned token (alg: none) claims the administrator role, then 401', async () => {
    const answer = await call(unsignedToken(ADMIN_CLAIMS));
    expect(answer.status).toBe(401);
    expect(answer.body.error?.code).toBe('invalid_token');
  });

  it('When the token uses another algorithm with the right secret (HS512), then 401 for the algorithm', async () => {
    const answer = await call(await signedToken(t.app.config, ADMIN_CLAIMS, { alg: 'HS512' }));
    expect(answer.status).toBe(401);
    expect(answer.body.error).toEqual({ code: 'invalid_token', message: 'The token algorithm is not accepted' });
  });

  it('When an RS256 token comes while only the HS256 secret is configured, then 401', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT(ADMIN_CLAIMS)
      .setProtectedHeader({ alg: 'RS256' })
      .setExpirationTime('5m')
      .sign(privateKey);
    const answer = await call(token);
    expect(answer.status).toBe(401);
    expect(answer.body.error?.code).toBe('invalid_token');
  });

  it('When a correctly signed token has no expiry, then 401: a token must not live for ever', async () => {
    const { jwtSecretOf } = await import('../../src/auth/index.js');
    const token = await new SignJWT(ADMIN_CLAIMS).setProtectedHeader({ alg: 'HS256' }).sign(jwtSecretOf(t.app.config)!);
    const answer = await call(token);
    expect(answer.status).toBe(401);
    expect(answer.body.error?.message).toContain('exp');
  });

  it('When the token is not a JWT at all, then 401 invalid_token', async () => {
    const answer = await call('not-a-token');
    expect(answer.status).toBe(401);
    expect(answer.body.error).toEqual({ code: 'invalid_token', message: 'The token is not a valid JWT' });
  });
});

describe("Citizens' tokens", () => {
  let url: string;
  const config: AuthConfig = {
    auth: { jwksUrl: undefined, jwtSecret: 'a-test-secret-that-is-long-enough-for-hs256' },
    dataDir: tempDir(),
  };
  beforeAll(async () => {
    url = await protectedApp(config);
  });

  it('When a citizen calls a citizen route, then the personal identity number of the token is the one the route sees', async () => {
    const response = await fetch(`${url}/citizen`, { headers: bearer(await citizenToken(config, '199001012385')) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ citizen: '199001012385' });
  });

  it("When the token's sub is not a 12-digit personal identity number, then 403 on a citizen route", async () => {
    for (const sub of ['Anna Admin', '9001012385', '19900101-2385']) {
      const response = await fetch(`${url}/citizen`, { headers: bearer(await signedToken(config, { sub })) });
      expect(response.status, sub).toBe(403);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
  });

  it('When an administrator whose role comes as a string calls an administrator route, then it is let through with the name', async () => {
    const token = await signedToken(config, { sub: 'u123', name: 'Anna Admin', roles: 'national-admin' });
    const response = await fetch(`${url}/admin`, { headers: bearer(token) });
    expect(await response.json()).toEqual({ admin: 'Anna Admin' });
  });

  it('When a citizen token is asked for with a malformed personal identity number, then signDevelopmentToken refuses', async () => {
    await expect(signDevelopmentToken(config, 'citizen', '1912121212')).rejects.toThrow(/12-digit/);
  });
});

describe('Keys', () => {
  it('When no secret is configured, then one is generated into DATA_DIR/jwt-secret (mode 0600) and reused by the next start', async () => {
    const dataDir = tempDir();
    const config: AuthConfig = { auth: { jwksUrl: undefined, jwtSecret: undefined }, dataDir };
    const url = await protectedApp(config);
    const file = path.join(dataDir, 'jwt-secret');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8').trim().length).toBeGreaterThanOrEqual(43);
    const token = await adminToken(config);
    // A second authenticator (another start of the service) accepts what was signed with the file.
    const again = await protectedApp(config);
    for (const base of [url, again])
      expect((await fetch(`${base}/admin`, { headers: bearer(token) })).status).toBe(200);
  });

  it('When AUTH_JWT_SECRET is shorter than 32 bytes, then the start stops with a clear message', () => {
    // loadConfig's rule (the authenticator receives the validated value).
    expect(() => loadConfig({ AUTH_JWT_SECRET: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ AUTH_JWT_SECRET: 'short' })).toThrow(/AUTH_JWT_SECRET.*32 bytes/);
  });

  it('When AUTH_JWKS_URL is configured, then RS256 tokens of its keys pass, and HS256, unknown keys and alg none do not', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    const jwksUrl = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    const config: AuthConfig = { auth: { jwksUrl: `${jwksUrl}/jwks.json`, jwtSecret: undefined }, dataDir: tempDir() };
    const url = await protectedApp(config);
    const sign = (key: CryptoKey, kid = 'key-1') =>
      new SignJWT(ADMIN_CLAIMS).setProtectedHeader({ alg: 'RS256', kid }).setExpirationTime('5m').sign(key);

    expect((await fetch(`${url}/admin`, { headers: bearer(await sign(privateKey)) })).status).toBe(200);
    const stranger = await generateKeyPair('RS256');
    expect((await fetch(`${url}/admin`, { headers: bearer(await sign(stranger.privateKey)) })).status).toBe(401);
    const hs = await signedToken(config, ADMIN_CLAIMS, { secret: new TextEncoder().encode('y'.repeat(40)) });
    expect((await fetch(`${url}/admin`, { headers: bearer(hs) })).status).toBe(401);
    expect((await fetch(`${url}/admin`, { headers: bearer(unsignedToken(ADMIN_CLAIMS)) })).status).toBe(401);
    // No secret here: development tokens cannot be made, and say why.
    await expect(adminToken(config)).rejects.toThrow(/AUTH_JWKS_URL/);
  });

  it('When the JWKS endpoint cannot be reached, then 503: the token may be fine, the keys are not at hand', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const config: AuthConfig = {
      auth: { jwksUrl: `http://127.0.0.1:${port}/jwks.json`, jwtSecret: undefined },
      dataDir: tempDir(),
    };
    const url = await protectedApp(config);
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT(ADMIN_CLAIMS)
      .setProtectedHeader({ alg: 'RS256', kid: 'k' })
      .setExpirationTime('5m')
      .sign(privateKey);
    const response = await fetch(`${url}/admin`, { headers: bearer(token) });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('auth_unavailable');
  });
});
