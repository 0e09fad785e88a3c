// /admin over real HTTP without a browser: sign-in, sessions, CSRF, escaping, refusals, production.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { adminToken, bearer } from '../helpers/auth.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

/** A minimal browser: one cookie jar, no redirects followed. */
class Visitor {
  cookie = '';
  constructor(readonly base: string) {}

  async request(method: string, path: string, form?: Record<string, string>) {
    const response = await fetch(`${this.base}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        ...(this.cookie && { cookie: this.cookie }),
        ...(form && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(form && { body: new URLSearchParams(form).toString() }),
    });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0]!;
    return {
      status: response.status,
      location: response.headers.get('location'),
      setCookie,
      html: await response.text(),
    };
  }

  /** The CSRF token of the last page's forms. */
  static csrf(html: string): string {
    return /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
  }

  async signIn(name = 'Anna Admin'): Promise<string> {
    const page = await this.request('GET', '/admin/logga-in');
    const signedIn = await this.request('POST', '/admin/logga-in', { _csrf: Visitor.csrf(page.html), name });
    expect(signedIn).toMatchObject({ status: 303, location: '/admin' });
    const admin = await this.request('GET', '/admin');
    return Visitor.csrf(admin.html);
  }
}

describe('/admin', () => {
  it('When someone not signed in opens /admin, then they are sent to the sign-in page, which offers the development sign-in', async () => {
    const visitor = new Visitor(t.url);
    const answer = await visitor.request('GET', '/admin');
    expect(answer).toMatchObject({ status: 303, location: '/admin/logga-in' });
    const page = await visitor.request('GET', '/admin/logga-in');
    expect(page.html).toContain('<html lang="sv">');
    expect(page.html).toContain('Utvecklingsinloggning');
    expect(answer.setCookie).toMatch(/HttpOnly/);
    expect(answer.setCookie).toMatch(/SameSite=Lax/);
  });

  it("When the sign-in form is posted without its CSRF token, or with another session's, then 403 and no session", async () => {
    const visitor = new Visitor(t.url);
    await visitor.request('GET', '/admin/logga-in');
    expect((await visitor.request('POST', '/admin/logga-in', { name: 'Mallory' })).status).toBe(403);
    const other = new Visitor(t.url);
    const otherToken = Visitor.csrf((await other.request('GET', '/admin/logga-in')).html);
    expect((await visitor.request('POST', '/admin/logga-in', { name: 'Mallory', _csrf: otherToken })).status).toBe(403);
    expect((await visitor.request('GET', '/admin')).location).toBe('/admin/logga-in');
  });

  it('When an administrator signs in, then the page lists the systems with the name escaped, and the CSRF token changed at sign-in', async () => {
    const created = await fetch(`${t.url}/api/admin/source-systems`, {
      method: 'POST',
      headers: { ...bearer(await adminToken(t.app.config)), 'content-type': 'application/json' },
      body: JSON.stringify({
        environment: 'qa',
        hsaId: 'SE2321000016-PAGE1',
        name: '<script>alert("x")</script> & Co',
      }),
    });
    expect(created.status).toBe(201);
    const visitor = new Visitor(t.url);
    const before = Visitor.csrf((await visitor.request('GET', '/admin/logga-in')).html);
    const after = await visitor.signIn('Anna <b>Admin</b>');
    expect(after).not.toBe(before);
    const page = await visitor.request('GET', '/admin');
    expect(page.status).toBe(200);
    expect(page.html).toContain('Inloggad som <strong>Anna &lt;b&gt;Admin&lt;/b&gt;</strong>');
    expect(page.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co');
    expect(page.html).toContain('<code>SE2321000016-PAGE1</code>');
    expect(page.html).not.toContain('<script>');
  });

  it('When a form is posted after sign-in without the CSRF token, then 403 and nothing is stored', async () => {
    const visitor = new Visitor(t.url);
    await visitor.signIn();
    const answer = await visitor.request('POST', '/admin/kallsystem', {
      environment: 'qa',
      hsaId: 'SE2321000016-NOCSRF',
      name: 'X',
    });
    expect(answer.status).toBe(403);
    expect(await t.app.directory.modeOf('SE2321000016-NOCSRF')).toBeUndefined();
  });

  it('When a system is added, set silent and deactivated through the forms, then each takes effect and the audit names the administrator', async () => {
    const visitor = new Visitor(t.url);
    const csrf = await visitor.signIn('Cecilia Admin');
    const added = await visitor.request('POST', '/admin/kallsystem', {
      _csrf: csrf,
      environment: 'qa',
      hsaId: ' se2321000016-form1 ',
      name: 'Formulär',
      mode: 'active',
    });
    expect(added).toMatchObject({ status: 303, location: '/admin?klart=tillagt' });
    expect(t.app.directory.modeOf('SE2321000016-FORM1')).toBe('active');
    const page = await visitor.request('GET', '/admin?klart=tillagt');
    expect(page.html).toContain('Källsystemet har lagts till.');
    const id = /<code>SE2321000016-FORM1<\/code>[\s\S]*?action="\/admin\/kallsystem\/(\d+)\/lage"/.exec(page.html)![1]!;
    expect(
      (await visitor.request('POST', `/admin/kallsystem/${id}/lage`, { _csrf: csrf, mode: 'silent' })).status,
    ).toBe(303);
    expect(t.app.directory.modeOf('SE2321000016-FORM1')).toBe('silent');
    // Deactivation asks first: the page's link opens a confirmation, and a post without it changes nothing.
    expect(page.html).toContain(`href="/admin/kallsystem/${id}/avaktivera"`);
    const unconfirmed = await visitor.request('POST', `/admin/kallsystem/${id}/avaktivera`, { _csrf: csrf });
    expect(unconfirmed).toMatchObject({ status: 303, location: `/admin/kallsystem/${id}/avaktivera` });
    expect(t.app.directory.modeOf('SE2321000016-FORM1')).toBe('silent');
    const confirmation = await visitor.request('GET', `/admin/kallsystem/${id}/avaktivera`);
    expect(confirmation.status).toBe(200);
    expect(confirmation.html).toContain('Avaktivera källsystemet?');
    expect(confirmation.html).toContain('<code>SE2321000016-FORM1</code>');
    expect(confirmation.html).toContain('name="bekrafta" value="ja"');
    expect(
      (await visitor.request('POST', `/admin/kallsystem/${id}/avaktivera`, { _csrf: csrf, bekrafta: 'ja' })).status,
    ).toBe(303);
    expect(t.app.directory.modeOf('SE2321000016-FORM1')).toBeUndefined();
    const audit = (await (
      await fetch(`${t.url}/api/admin/audit?limit=3`, { headers: bearer(await adminToken(t.app.config)) })
    ).json()) as {
      items: { actor: string; action: string }[];
    };
    expect(audit.items.map((e) => [e.actor, e.action])).toEqual([
      ['Cecilia Admin', 'source_system.deactivate'],
      ['Cecilia Admin', 'source_system.change'],
      ['Cecilia Admin', 'source_system.register'],
    ]);
    // Deactivating again (an old tab) is refused in Swedish, not stored twice.
    const again = await visitor.request('POST', `/admin/kallsystem/${id}/avaktivera`, { _csrf: csrf, bekrafta: 'ja' });
    expect(again.status).toBe(409);
    expect(again.html).toContain('Källsystemet är redan avaktiverat.');
  });

  it('When the add form has mistakes or a duplicate, then the page answers in Swedish and keeps what was typed', async () => {
    const visitor = new Visitor(t.url);
    const csrf = await visitor.signIn();
    const empty = await visitor.request('POST', '/admin/kallsystem', {
      _csrf: csrf,
      environment: 'qa',
      hsaId: '',
      name: 'Behållet namn',
    });
    expect(empty.status).toBe(400);
    expect(empty.html).toContain('HSA-id måste fyllas i.');
    expect(empty.html).toContain('value="Behållet namn"');
    const notAnHsaId = await visitor.request('POST', '/admin/kallsystem', {
      _csrf: csrf,
      environment: 'qa',
      hsaId: 'inte ett hsa id!',
      name: 'Fel',
    });
    expect(notAnHsaId.status).toBe(400);
    expect(notAnHsaId.html).toContain('HSA-id måste skrivas som SE, organisationsnumret');
    expect(notAnHsaId.html).toContain('value="inte ett hsa id!"');
    await visitor.request('POST', '/admin/kallsystem', {
      _csrf: csrf,
      environment: 'prod',
      hsaId: 'SE2321000016-FORMDUP',
      name: 'A',
    });
    // HSA-ids are not case-sensitive: the same id in lower case is the same system.
    const duplicate = await visitor.request('POST', '/admin/kallsystem', {
      _csrf: csrf,
      environment: 'prod',
      hsaId: 'se2321000016-formdup',
      name: 'B',
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.html).toContain('Det HSA-id:t är redan registrerat i den miljön.');
  });

  it('When the session cookie is tampered with or the administrator signs out, then the page asks for sign-in again', async () => {
    const visitor = new Visitor(t.url);
    const csrf = await visitor.signIn();
    const [name, value] = visitor.cookie.split('=') as [string, string];
    const tampered = new Visitor(t.url);
    tampered.cookie = `${name}=${value.slice(0, -4)}${value.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expect((await tampered.request('GET', '/admin')).location).toBe('/admin/logga-in');
    expect((await visitor.request('POST', '/admin/logga-ut', { _csrf: csrf })).location).toBe('/admin/logga-in');
    expect((await visitor.request('GET', '/admin')).location).toBe('/admin/logga-in');
  });
});

describe('/admin in production', () => {
  let production: TestApp;
  beforeAll(async () => {
    production = await startTestApp({ NODE_ENV: 'production' });
  });
  afterAll(async () => production?.close());

  it('When NODE_ENV=production, then the development sign-in is neither offered nor accepted, and the cookie is Secure', async () => {
    const visitor = new Visitor(production.url);
    const page = await visitor.request('GET', '/admin/logga-in');
    expect(page.html).not.toContain('Utvecklingsinloggning');
    expect(page.setCookie).toMatch(/^__Host-ei_session=.*; Secure/);
    const refused = await visitor.request('POST', '/admin/logga-in', { name: 'Mallory' });
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('Utvecklingsinloggningen är inte påslagen här.');
    expect((await visitor.request('GET', '/admin')).location).toBe('/admin/logga-in');
  });
});
