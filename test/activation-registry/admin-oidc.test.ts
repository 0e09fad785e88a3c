// Production sign-in to /admin with OpenID Connect against a real OpenID provider (oidc-provider)
// started here, as the administrators' IdP (e.g. SITHS through the region's IdP) would be: the
// national-admin role read from a configured claim (here `groups`, released only at userinfo), the
// name for the audit log, and what happens to someone without the role, after sign-out, and with a
// forged Host header. The service runs as in production: APP_ENVIRONMENT=prod, no development sign-in.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Account, type KoaContextWithOIDC } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/net.js';
import { PageClient, type PageResponse } from '../inbox/page-client.js';

const CLIENT_ID = 'ei-inbox-admin';
const CLIENT_SECRET = 'a-client-secret-for-the-admin-test-provider';
const ROLE_CLAIM = 'groups';

let nextAccount = 'admin-1';
const ACCOUNTS: Record<string, Record<string, unknown>> = {
  'admin-1': { name: 'Ada Administratör', [ROLE_CLAIM]: ['reader', 'national-admin'] },
  // Some IdPs send the roles as one text.
  'admin-2': { name: 'Bo Behörig', [ROLE_CLAIM]: 'reader national-admin' },
  'reader-1': { name: 'Rut Läsare', [ROLE_CLAIM]: ['reader'] },
  'support-1': { name: 'Siv Support', [ROLE_CLAIM]: ['national-admin', 'support'] },
  'no-roles': { name: 'Nils Utan' },
};

let providerServer: http.Server;
let issuer: string;
let publicBaseUrl: string;
let t: TestApp;

beforeAll(async () => {
  let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
  providerServer = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => providerServer.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(providerServer.address() as AddressInfo).port}`;
  const port = await freePort();
  publicBaseUrl = `http://127.0.0.1:${port}`;

  t = await startTestApp({
    PORT: String(port),
    APP_ENVIRONMENT: 'prod',
    PUBLIC_BASE_URL: publicBaseUrl,
    ADMIN_OIDC_ISSUER: issuer,
    ADMIN_OIDC_CLIENT_ID: CLIENT_ID,
    ADMIN_OIDC_CLIENT_SECRET: CLIENT_SECRET,
    ADMIN_OIDC_ROLE_CLAIM: ROLE_CLAIM,
    ROLES: 'web',
  });

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${publicBaseUrl}/admin/logga-in/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), use: 'sig', alg: 'RS256', kid: 'admin-test-key' }] },
    cookies: { keys: ['cookie-key-of-the-admin-test-provider'] },
    claims: { openid: ['sub', 'name', ROLE_CLAIM] },
    pkce: { required: () => true },
    ttl: { AuthorizationCode: 60, Interaction: 600, Grant: 600, Session: 600, AccessToken: 600, IdToken: 600 },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}` },
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId!,
      });
      grant.addOIDCScope('openid');
      await grant.save();
      return grant;
    },
    findAccount: (_ctx: KoaContextWithOIDC, id: string): Account | undefined =>
      ACCOUNTS[id] ? { accountId: id, claims: () => ({ sub: id, ...ACCOUNTS[id] }) } : undefined,
  });
  const callback = provider.callback();
  handler = (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      provider
        .interactionFinished(req, res, { login: { accountId: nextAccount } }, { mergeWithLastSubmission: false })
        .catch((error: unknown) => {
          res.writeHead(500).end(String(error));
        });
      return;
    }
    callback(req, res);
  };
});

afterAll(async () => {
  await t?.close();
  providerServer?.closeAllConnections();
  await new Promise<void>((resolve) => providerServer?.close(() => resolve()));
});

async function follow(browser: PageClient, start: PageResponse): Promise<{ last: PageResponse; hops: string[] }> {
  const hops: string[] = [];
  let response = start;
  let base = t.url;
  while (response.status >= 300 && response.status < 400 && response.location && hops.length < 15) {
    const next = new URL(response.location, base);
    hops.push(next.href);
    base = next.origin;
    response = await browser.get(next.href);
  }
  return { last: response, hops };
}

async function signIn(browser: PageClient, account: string): Promise<{ last: PageResponse; hops: string[] }> {
  nextAccount = account;
  return follow(browser, await browser.get('/admin/logga-in/oidc'));
}

describe('/admin sign-in with OpenID Connect (production)', () => {
  it('When the service runs in production, then /admin offers the organisation sign-in and no development sign-in', async () => {
    const browser = new PageClient(t.url);
    const page = await browser.get('/admin/logga-in');
    expect(page.text).toContain('href="/admin/logga-in/oidc"');
    expect(page.text).not.toContain('Utvecklingsinloggning');
    expect((await browser.post('/admin/logga-in', { name: 'anyone' })).status).toBe(403);
  });

  it('When an administrator with the role in the configured claim signs in, then /admin opens and changes are audited under their name', async () => {
    const browser = new PageClient(t.url);
    const { last, hops } = await signIn(browser, 'admin-1');
    expect(new URL(hops[0]!).searchParams.get('redirect_uri')).toBe(`${publicBaseUrl}/admin/logga-in/callback`);
    expect(hops.at(-1)).toBe(`${t.url}/admin`);
    expect(last.status).toBe(200);
    expect(last.text).toContain('Inloggad som <strong>Ada Administratör</strong>');
    const added = await browser.post('/admin/kallsystem', {
      environment: 'prod',
      hsaId: 'SE2321000016-OIDC1',
      name: 'Via OIDC',
      mode: 'silent',
    });
    expect(added).toMatchObject({ status: 303, location: '/admin?klart=tillagt' });
    const [entry] = await rows<{ actor: string }>(
      t.database.orm,
      sql`select actor from audit_log order by id desc limit 1`,
    );
    expect(entry!.actor).toBe('Ada Administratör');
  });

  it('When an administrator with the support role as well signs in, then /admin offers the trace by personal identity number, and only to them', async () => {
    const { last } = await signIn(new PageClient(t.url), 'support-1');
    expect(last.text).toContain('Inloggad som <strong>Siv Support</strong>');
    expect(last.text).toContain('Sök på personnummer (supportroll)');
    const plain = await signIn(new PageClient(t.url), 'admin-1');
    expect(plain.last.text).not.toContain('Sök på personnummer (supportroll)');
    expect(plain.last.text).toContain('Sökning på personnummer kräver supportrollen.');
  });

  it('When the roles come as one text, then the role is found in it', async () => {
    const { last } = await signIn(new PageClient(t.url), 'admin-2');
    expect(last.text).toContain('Inloggad som <strong>Bo Behörig</strong>');
  });

  it.each(['reader-1', 'no-roles'])(
    'When %s (without the national-admin role) signs in, then it is refused with 403 and /admin stays closed',
    async (account) => {
      const browser = new PageClient(t.url);
      const { last } = await signIn(browser, account);
      expect(last.status).toBe(403);
      expect(last.text).toContain('har inte rollen nationell administratör');
      expect(await browser.get('/admin')).toMatchObject({ status: 303, location: '/admin/logga-in' });
    },
  );

  it('When the administrator signs out, then the old session cookie no longer opens /admin', async () => {
    const browser = new PageClient(t.url);
    await signIn(browser, 'admin-1');
    const oldCookie = browser.cookieHeader();
    await browser.get('/admin');
    expect(await browser.post('/admin/logga-ut')).toMatchObject({ status: 303 });
    const replay = await fetch(`${t.url}/admin`, { headers: { cookie: oldCookie }, redirect: 'manual' });
    expect(replay.status).toBe(303);
  });

  it('When the sign-in starts with a forged Host header, then the redirect URI is still the configured one', async () => {
    const answer = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const url = new URL(t.url);
      http
        .get(
          { host: url.hostname, port: url.port, path: '/admin/logga-in/oidc', headers: { host: 'evil.example' } },
          resolve,
        )
        .on('error', reject);
    });
    answer.resume();
    expect(answer.statusCode).toBe(303);
    const location = new URL(answer.headers.location!);
    expect(location.searchParams.get('redirect_uri')).toBe(`${publicBaseUrl}/admin/logga-in/callback`);
  });
});
