// The /inbox pages over real HTTP against the real app: development sign-in, the list with unread
// marks, a message marked read when opened, delete, notification settings, CSRF, isolation, and producer
// text kept inert.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevelopmentToken } from '../../src/auth/index.js';
import { readCitizenSettings } from '../../src/channels/settings.js';
import { loadConfig, ConfigError } from '../../src/config.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { bookingJson, CITIZEN_A, CITIZEN_B, insertBookingPost, insertMessage } from '../helpers/inbox-fixtures.js';
import { PageClient } from './page-client.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe('Signing in', () => {
  it('When nobody is signed in, then /inbox and a message send the browser to the sign-in page', async () => {
    const browser = new PageClient(t.url);
    for (const path of ['/inbox', '/inbox/meddelanden/1']) {
      const page = await browser.get(path);
      expect(page.status, path).toBe(303);
      expect(page.location).toBe('/inbox/logga-in');
    }
    const signIn = await browser.get('/inbox/logga-in');
    expect(signIn.status).toBe(200);
    expect(signIn.text).toContain('Utvecklingsinloggning – inte för riktiga invånare');
    expect(signIn.text).toContain('<label for="personal-number">');
    expect(signIn.headers.get('cache-control')).toBe('no-store');
  });

  it('When the sign-in form comes without the CSRF token, then it is refused and nobody is signed in', async () => {
    const browser = new PageClient(t.url);
    await browser.get('/inbox/logga-in');
    const refused = await browser.request('POST', '/inbox/logga-in', { personalNumber: CITIZEN_A });
    expect(refused.status).toBe(403);
    const wrong = await browser.request('POST', '/inbox/logga-in', { personalNumber: CITIZEN_A, _csrf: 'guessed' });
    expect(wrong.status).toBe(403);
    expect((await browser.get('/inbox')).status).toBe(303);
  });

  it('When the personal identity number is not 12 digits, then the page says so and nobody is signed in', async () => {
    const browser = new PageClient(t.url);
    for (const typed of ['12345', '19121212121X', '<script>']) {
      await browser.get('/inbox/logga-in');
      const page = await browser.post('/inbox/logga-in', { personalNumber: typed });
      expect(page.status, typed).toBe(400);
      expect(page.text).toContain('Ange personnumret med 12 siffror');
      expect(page.text).not.toContain('<script>');
    }
    expect((await browser.get('/inbox')).status).toBe(303);
  });

  it('When a citizen signs in with the hyphenated number and signs out again, then /inbox opens and then closes', async () => {
    const browser = new PageClient(t.url);
    const signedIn = await browser.signIn('19121212-1212');
    expect(signedIn.status).toBe(303);
    expect(signedIn.location).toBe('/inbox');
    const inbox = await browser.get('/inbox');
    expect(inbox.status).toBe(200);
    // The banner never shows the whole personal identity number.
    expect(inbox.text).toContain('Inloggad som <strong>19121212-XXXX</strong>');
    expect(inbox.text).not.toContain('1212-1212');
    expect(inbox.text).not.toContain('191212121212');
    const out = await browser.post('/inbox/logga-ut');
    expect(out.location).toBe('/inbox/logga-in');
    expect((await browser.get('/inbox')).status).toBe(303);
  });
});

describe('The inbox', () => {
  const resident = '197004045555';
  let browser: PageClient;
  let unreadId: number;
  let readId: number;

  beforeAll(async () => {
    readId = await insertMessage(t.database, {
      resident,
      subject: 'Läst bekräftelse',
      readAt: new Date('2026-01-02T10:00:00Z'),
    });
    unreadId = await insertMessage(t.database, {
      resident,
      kind: 'rebooking',
      subject: 'Ombokning hos Vårdcentralen Test',
      body: 'Hej!\n\nDin tid är ombokad.',
      booking: bookingJson({
        previousStart: '2031-03-01T09:00:00.000Z',
        previousEnd: '2031-03-01T09:30:00.000Z',
        rebookAllowed: true,
      }),
    });
    await insertBookingPost(t.database, {
      resident,
      bookingId: 'UPCOMING-1',
      details: {
        start: new Date(Date.now() + 5 * 86_400_000).toISOString(),
        careTypeName: 'Sjuksköterskebesök',
        cancelBookingAllowed: true,
      },
    });
    browser = new PageClient(t.url);
    await browser.signIn(resident);
  });

  it('When the citizen opens /inbox, then unread messages are marked, and the bookings and the way to the settings are there', async () => {
    const page = await browser.get('/inbox');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Du har 1 oläst meddelande.');
    expect(count(page.text, '<span class="mark">Oläst')).toBe(1);
    expect(page.text).toMatch(new RegExp(`<li class="unread">\\s*<a href="/inbox/meddelanden/${unreadId}">`));
    expect(page.text).toMatch(new RegExp(`<li>\\s*<a href="/inbox/meddelanden/${readId}">`));
    expect(page.text).toContain('Sjuksköterskebesök');
    // No booking service configured here: no promise of a cancel link, but the calendar file.
    expect(page.text).not.toContain('Avboka tiden');
    expect(page.text).toContain('Kontakta Vårdcentralen Test om du behöver ändra tiden.');
    expect(page.text).toContain('/inbox/kalender.ics?enhet=SE2321000016-TEST&amp;bokning=UPCOMING-1');
    expect(page.text).toContain('<a href="/inbox/installningar">Aviseringar</a>');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('When the citizen opens an unread message, then its booking is shown and it is marked read, on the page and in the API', async () => {
    const page = await browser.get(`/inbox/meddelanden/${unreadId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1 id="message-heading">Ombokning hos Vårdcentralen Test</h1>');
    expect(page.text).toContain('Din tid är ombokad.');
    expect(page.text).toContain('Markera som oläst');
    expect(page.text).toContain(' · läst ');
    const inbox = await browser.get('/inbox');
    expect(inbox.text).toContain('Du har inga olästa meddelanden.');
    expect(inbox.text).not.toContain('<li class="unread">');
    const token = await signDevelopmentToken(t.app.config, 'citizen', resident);
    const api = await fetch(`${t.url}/api/inbox/messages/${unreadId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await api.json()) as { readAt: string | null }).readAt).not.toBeNull();
  });

  it("When the citizen opens another citizen's message, then the page says it does not exist and it stays unread", async () => {
    const othersId = await insertMessage(t.database, { resident: CITIZEN_B, subject: 'B:s hemliga kallelse' });
    for (const path of [`/inbox/meddelanden/${othersId}`, '/inbox/meddelanden/abc']) {
      const page = await browser.get(path);
      expect(page.status, path).toBe(404);
      expect(page.text).toContain('Meddelandet finns inte');
      expect(page.text).not.toContain('hemliga');
    }
    expect((await browser.post(`/inbox/meddelanden/${othersId}/ta-bort`)).status).toBe(404);
    const token = await signDevelopmentToken(t.app.config, 'citizen', CITIZEN_B);
    const api = await fetch(`${t.url}/api/inbox/messages/${othersId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await api.json()) as { readAt: string | null }).readAt).toBeNull();
  });

  it('When the citizen deletes a message without the CSRF token, then it stays; with it, it is gone', async () => {
    const refused = await browser.request('POST', `/inbox/meddelanden/${readId}/ta-bort`, {});
    expect(refused.status).toBe(403);
    expect((await browser.get('/inbox')).text).toContain(`/inbox/meddelanden/${readId}"`);
    const confirm = await browser.get(`/inbox/meddelanden/${readId}/ta-bort`);
    expect(confirm.text).toContain('Vill du ta bort meddelandet?');
    const deleted = await browser.post(`/inbox/meddelanden/${readId}/ta-bort`);
    expect(deleted.status).toBe(303);
    expect(deleted.location).toBe('/inbox?klart=borttaget');
    const inbox = await browser.get(deleted.location!);
    expect(inbox.text).toContain('Meddelandet är borttaget.');
    expect(inbox.text).not.toContain(`/inbox/meddelanden/${readId}"`);
  });

  it('When the citizen saves notification settings, then they are stored; a bad number is refused, kept in the form, and nothing is stored', async () => {
    await browser.get('/inbox/installningar');
    const bad = await browser.post('/inbox/installningar', {
      smsEnabled: 'ja',
      phone: '12<b>34',
      emailEnabled: 'ja',
      address: 'namn@example.se',
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Ange ett mobilnummer som kan ta emot SMS');
    expect(bad.text).toContain('value="12&lt;b&gt;34"');
    expect(await readCitizenSettings(t.database, resident)).toEqual({
      sms: { enabled: false, phone: null },
      email: { enabled: false, address: null },
    });

    const saved = await browser.post('/inbox/installningar', {
      smsEnabled: 'ja',
      phone: '070-123 45 67',
      address: 'namn@example.se',
    });
    expect(saved.status).toBe(303);
    expect(saved.location).toBe('/inbox/installningar?klart=sparat');
    expect(await readCitizenSettings(t.database, resident)).toEqual({
      sms: { enabled: true, phone: '+46701234567' },
      email: { enabled: false, address: 'namn@example.se' },
    });
    const page = await browser.get('/inbox/installningar?klart=sparat');
    expect(page.text).toContain('Dina aviseringsinställningar är sparade.');
    expect(page.text).toMatch(/id="sms-enabled" name="smsEnabled" value="ja" checked/);
    expect(page.text).toMatch(/id="email-enabled" name="emailEnabled" value="ja">/);
    expect(page.text).toContain('value="+46701234567"');
  });

  it('When the citizen has more messages than fit on a page, then "Äldre meddelanden" leads to the rest', async () => {
    const many = '198005056666';
    for (let i = 1; i <= 23; i++) await insertMessage(t.database, { resident: many, subject: `Nummer ${i}` });
    const reader = new PageClient(t.url);
    await reader.signIn(many);
    const first = await reader.get('/inbox');
    expect(count(first.text, '<span class="subject">Nummer')).toBe(20);
    const older = /<a href="(\/inbox\?sida=[^"]+)" rel="next">Äldre meddelanden<\/a>/.exec(first.text);
    expect(older).not.toBeNull();
    const second = await reader.get(older![1]!.replace(/&amp;/g, '&'));
    expect(count(second.text, '<span class="subject">Nummer')).toBe(3);
    expect(second.text).toContain('Nummer 1<');
    expect(second.text).toContain('Till de senaste meddelandena');
  });
});

describe('Producer text', () => {
  it('When producer text holds <script> and HTML, then the list and the message page show it as text, never as markup', async () => {
    const resident = '199909099999';
    const hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    const id = await insertMessage(t.database, {
      resident,
      subject: `Kallelse ${hostile}`,
      body: `Hej ${hostile}\n<a href="javascript:alert(1)">klicka</a>`,
      careUnitName: `Mottagning ${hostile}`,
      booking: bookingJson({
        performerName: hostile,
        careTypeName: '"><svg onload=alert(1)>',
        resourceName: "' onmouseover='alert(1)",
      }),
    });
    await insertBookingPost(t.database, {
      resident,
      details: {
        start: new Date(Date.now() + 86_400_000).toISOString(),
        healthcareFacilityName: hostile,
        careTypeName: hostile,
        purpose: '"><svg onload=alert(1)>',
        reason: "' onmouseover='alert(1)",
      },
    });
    const browser = new PageClient(t.url);
    await browser.signIn(resident);
    for (const path of ['/inbox', `/inbox/meddelanden/${id}`]) {
      const page = await browser.get(path);
      expect(page.status, path).toBe(200);
      expect(page.text, path).not.toMatch(/<script|<img|<svg|<a href="javascript/i);
      expect(page.text, path).not.toContain("' onmouseover='");
      expect(page.text, path).toContain(
        '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;',
      );
      expect(page.headers.get('content-security-policy'), path).toMatch(/default-src 'none'/);
    }
    const message = await browser.get(`/inbox/meddelanden/${id}`);
    expect(message.text).toContain('&lt;a href=&quot;javascript:alert(1)&quot;&gt;klicka&lt;/a&gt;');
    const list = await browser.get('/inbox');
    expect(list.text).toContain('&quot;&gt;&lt;svg onload=alert(1)&gt;');
    expect(list.text).toContain('&#39; onmouseover=&#39;alert(1)');
  });
});

describe('The development sign-in in production', () => {
  it('When NODE_ENV is production, then DEV_LOGIN decides, and nothing else is accepted', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).developmentSignIn).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', DEV_LOGIN: 'true' }).developmentSignIn).toBe(true);
    expect(loadConfig({}).developmentSignIn).toBe(true);
    expect(loadConfig({ DEV_LOGIN: 'false' }).developmentSignIn).toBe(false);
    expect(() => loadConfig({ DEV_LOGIN: 'yes' })).toThrow(ConfigError);
    expect(() => loadConfig({ OIDC_ISSUER: 'https://idp.example' })).toThrow(/OIDC_CLIENT_ID/);
  });

  it('When the service runs in production without DEV_LOGIN, then the development sign-in is neither offered nor accepted', async () => {
    const production = await startTestApp({ NODE_ENV: 'production', ROLES: 'web' });
    try {
      const browser = new PageClient(production.url);
      const page = await browser.get('/inbox/logga-in');
      expect(page.text).not.toContain('Utvecklingsinloggning');
      expect(page.text).toContain('Inloggning är inte tillgänglig');
      // Secure session cookie in production (__Host- prefix).
      expect(browser.cookieHeader()).toMatch(/^__Host-ei_session=/);
      const refused = await browser.post('/inbox/logga-in', { personalNumber: CITIZEN_A });
      expect(refused.status).toBe(403);
      expect((await browser.get('/inbox')).status).toBe(303);
    } finally {
      await production.close();
    }
  });

  it('When production explicitly enables DEV_LOGIN, then a citizen can sign in with it', async () => {
    const production = await startTestApp({ NODE_ENV: 'production', DEV_LOGIN: 'true', ROLES: 'web' });
    try {
      const browser = new PageClient(production.url);
      expect((await browser.signIn(CITIZEN_A)).location).toBe('/inbox');
      expect((await browser.get('/inbox')).status).toBe(200);
    } finally {
      await production.close();
    }
  });
});
