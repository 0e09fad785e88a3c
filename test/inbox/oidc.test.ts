// Signing in to /inbox with OpenID Connect against a real OpenID provider (oidc-provider) started here:
// authorization code flow with PKCE, the personal identity number from a configured claim (released only
// at userinfo), and what happens when the citizen cancels, the callback is forged or replayed, or the
// claim is missing.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Account, type KoaContextWithOIDC } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/net.js';
import { PageClient, type PageResponse } from './page-client.js';

const CLIENT_ID = 'ei-inbox-test';
const CLIENT_SECRET = 'a-client-secret-for-the-test-provider-only';
const CLAIM = 'personal_identity_number';

/** What the provider's sign-in step does next: sign in this account, or refuse. */
let nextInteraction: { accountId: string } | { error: string } = { accountId: 'citizen-1' };
const ACCOUNTS: Record<string, Record<string, string>> = {
  // The subject is opaque: the number comes from its own claim, written with a hyphen.
  'citizen-1': { [CLAIM]: '19121212-1212', given_name: 'Tolvan', family_name: 'Tolvansson' },
  // No name from the provider: the banner shows the number with its last four digits hidden.
  'citizen-2': { [CLAIM]: '199001012384' },
  'no-number': { [CLAIM]: 'not-a-number' },
};

let providerServer: http.Server;
let issuer: string;
let t: TestApp;
const authorizationRequests: URL[] = [];

beforeAll(async () => {
  let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
  providerServer = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => providerServer.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(providerServer.address() as AddressInfo).port}`;

  // The app discovers the provider at the first sign-in, so it can start before the provider is ready.
  // The redirect URI comes from PUBLIC_BASE_URL (never from the Host header): the port is chosen first.
  const port = await freePort();
  t = await startTestApp({
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    OIDC_ISSUER: issuer,
    OIDC_CLIENT_ID: CLIENT_ID,
    OIDC_CLIENT_SECRET: CLIENT_SECRET,
    OIDC_PERSONAL_NUMBER_CLAIM: CLAIM,
    ROLES: 'web',
  });

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${t.url}/inbox/logga-in/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), use: 'sig', alg: 'RS256', kid: 'test-key' }] },
    cookies: { keys: ['cookie-key-of-the-test-provider'] },
    claims: { openid: ['sub', CLAIM, 'given_name', 'family_name'] },
    pkce: { required: () => true },
    ttl: { AuthorizationCode: 60, Interaction: 600, Grant: 600, Session: 600, AccessToken: 600, IdToken: 600 },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}` },
    // First-party client: no consent screen, the grant is given at sign-in.
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
    if (req.url?.startsWith('/auth?')) authorizationRequests.push(new URL(req.url, issuer));
    if (req.url?.startsWith('/interaction/')) {
      const result =
        'error' in nextInteraction
          ? { error: nextInteraction.error }
          : { login: { accountId: nextInteraction.accountId } };
      provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false }).catch((error: unknown) => {
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

/** Follows redirects across the app and the provider until a page answers; the last response and the hops. */
async function follow(
  browser: PageClient,
  start: PageResponse,
  stopBefore?: string,
): Promise<{ last: PageResponse; hops: string[] }> {
  const hops: string[] = [];
  let response = start;
  let base = t.url;
  while (response.status >= 300 && response.status < 400 && response.location && hops.length < 15) {
    const next = new URL(response.location, base);
    hops.push(next.href);
    if (stopBefore && next.href.startsWith(stopBefore)) break;
    base = next.origin;
    response = await browser.get(next.href);
  }
  return { last: response, hops };
}

async function signInWithProvider(browser: PageClient): Promise<{ last: PageResponse; hops: string[] }> {
  return follow(browser, await browser.get('/inbox/logga-in/oidc'));
}

describe('OpenID Connect sign-in', () => {
  it('When OIDC is configured, then the sign-in page offers it and no development sign-in', async () => {
    const browser = new PageClient(t.url);
    const page = await browser.get('/inbox/logga-in');
    expect(page.text).toContain('<a class="button" href="/inbox/logga-in/oidc">Logga in med e-legitimation</a>');
    expect(page.text).not.toContain('Utvecklingsinloggning');
    await browser.get('/inbox/logga-in');
    expect((await browser.post('/inbox/logga-in', { personalNumber: '191212121212' })).status).toBe(403);
  });

  it('When a citizen signs in at the provider, then the code flow with PKCE ends in their inbox with the number from the claim', async () => {
    nextInteraction = { accountId: 'citizen-1' };
    const browser = new PageClient(t.url);
    const { last, hops } = await signInWithProvider(browser);
    const authorization = new URL(hops[0]!);
    expect(authorization.origin).toBe(issuer);
    expect(authorization.searchParams.get('response_type')).toBe('code');
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorization.searchParams.get('state')).toBeTruthy();
    expect(authorization.searchParams.get('nonce')).toBeTruthy();
    expect(authorization.searchParams.get('redirect_uri')).toBe(`${t.url}/inbox/logga-in/callback`);
    expect(hops.at(-1)).toBe(`${t.url}/inbox`);
    expect(last.status).toBe(200);
    // The banner names the citizen from the provider's name claims, never by the whole number.
    expect(last.text).toContain('Inloggad som <strong>Tolvan Tolvansson</strong>');
    expect(last.text).not.toMatch(/19121212-?1212/);
    // The opaque subject never stands in for the number.
    expect(last.text).not.toContain('citizen-1');
    const signedIn = t.logs.filter((line) => line.msg === 'citizen signed in to /inbox');
    expect(signedIn.at(-1)).toMatchObject({ via: 'oidc' });
    expect(JSON.stringify(t.logs)).not.toContain('191212121212');
  });

  it('When the provider gives no name, then the banner shows the number with its last four digits hidden', async () => {
    nextInteraction = { accountId: 'citizen-2' };
    const browser = new PageClient(t.url);
    const { last } = await signInWithProvider(browser);
    expect(last.status).toBe(200);
    expect(last.text).toContain('Inloggad som <strong>19900101-XXXX</strong>');
    expect(last.text).not.toMatch(/19900101-?2384/);
  });

  it("When the provider's callback is replayed after the sign-in, then it is refused", async () => {
    nextInteraction = { accountId: 'citizen-1' };
    const browser = new PageClient(t.url);
    const { hops } = await signInWithProvider(browser);
    const callback = hops.find((hop) => hop.startsWith(`${t.url}/inbox/logga-in/callback`))!;
    expect(callback).toBeDefined();
    const replayed = await browser.get(callback);
    expect(replayed.status).toBe(400);
    expect(replayed.text).toContain('Inloggningen hade gått ut');
  });

  it('When the callback carries another state than the one this browser started with, then nobody is signed in', async () => {
    nextInteraction = { accountId: 'citizen-1' };
    const attacker = new PageClient(t.url);
    const started = await attacker.get('/inbox/logga-in/oidc');
    // The attacker stops before their own callback: its code is fresh and unused.
    const viaProvider = await follow(attacker, started, `${t.url}/inbox/logga-in/callback`);
    const attackersCallback = viaProvider.hops.at(-1)!;
    expect(attackersCallback).toMatch(/\/inbox\/logga-in\/callback\?code=/);
    // Another browser is lured to the attacker's callback (login CSRF): its own sign-in has another state.
    const victim = new PageClient(t.url);
    await victim.get('/inbox/logga-in/oidc');
    const forced = await victim.get(attackersCallback);
    expect(forced.status).toBe(400);
    expect(forced.text).toContain('Inloggningen hade gått ut');
    expect((await victim.get('/inbox')).status).toBe(303);
  });

  it('When the citizen cancels at the provider, then the sign-in page says so and nobody is signed in', async () => {
    nextInteraction = { error: 'access_denied' };
    const browser = new PageClient(t.url);
    const { last } = await signInWithProvider(browser);
    expect(last.status).toBe(400);
    expect(last.text).toContain('Inloggningen avbröts eller godkändes inte');
    expect((await browser.get('/inbox')).status).toBe(303);
  });

  it('When the configured claim holds no personal identity number, then the sign-in is refused', async () => {
    nextInteraction = { accountId: 'no-number' };
    const browser = new PageClient(t.url);
    const { last } = await signInWithProvider(browser);
    expect(last.status).toBe(403);
    expect(last.text).toContain('lämnade inget personnummer');
    expect((await browser.get('/inbox')).status).toBe(303);
  });
});
