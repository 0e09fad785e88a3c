// What a citizen can do about a message and a booking, over real HTTP against the real app with a
// booking-service link configured: links only where the producer allows and the time is still ahead,
// built from the booking's current state; a cancellation offers a new time; mark as unread; delete asks
// first. And the e-mail names the settings the way the page does ("Aviseringar").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNotificationTexts } from '../../src/channels/texts.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { bookingJson, CITIZEN_B, insertBookingPost, insertMessage } from '../helpers/inbox-fixtures.js';
import { PageClient } from './page-client.js';

const TEMPLATE = 'https://bokning.example.se/{careUnit}/{bookingId}?atgard={action}';
const RESIDENT = '198502025555';
let t: TestApp;
let browser: PageClient;

beforeAll(async () => {
  t = await startTestApp({ ROLES: 'web', BOOKING_SERVICE_URL: TEMPLATE });
  browser = new PageClient(t.url);
  await browser.signIn(RESIDENT);
});
afterAll(async () => {
  await t?.close();
});

function linksOf(page: string): string[] {
  return [...page.matchAll(/<a class="button" href="(https:\/\/bokning\.example\.se[^"]+)"/g)].map((m) =>
    m[1]!.replace(/&amp;/g, '&'),
  );
}

describe('Booking-service links', () => {
  it('When a booked time is ahead and the producer allows cancelling, then the list and the message link to cancelling it, and nothing else', async () => {
    const start = new Date(Date.now() + 3 * 86_400_000).toISOString();
    await insertBookingPost(t.database, {
      resident: RESIDENT,
      bookingId: 'BK-A',
      details: { start, cancelBookingAllowed: true, rebookingAllowed: false },
    });
    const id = await insertMessage(t.database, {
      resident: RESIDENT,
      booking: bookingJson({ bookingId: 'BK-A', start, cancelAllowed: true, rebookAllowed: false }),
    });
    const list = await browser.get('/inbox');
    expect(linksOf(list.text)).toEqual(['https://bokning.example.se/SE2321000016-TEST/BK-A?atgard=avboka']);
    const message = await browser.get(`/inbox/meddelanden/${id}`);
    expect(linksOf(message.text)).toEqual(['https://bokning.example.se/SE2321000016-TEST/BK-A?atgard=avboka']);
    expect(message.text).toContain('Avboka tiden i bokningstjänsten');
    expect(message.text).not.toContain('Boka om tiden');
    expect(message.text).toContain('/inbox/kalender.ics?enhet=SE2321000016-TEST&amp;bokning=BK-A');
  });

  it('When the booking has since changed (the producer no longer allows it), then the message follows the current state, not its old flags', async () => {
    const start = new Date(Date.now() + 4 * 86_400_000).toISOString();
    await insertBookingPost(t.database, {
      resident: RESIDENT,
      bookingId: 'BK-B',
      details: { start, cancelBookingAllowed: false, rebookingAllowed: false },
    });
    const id = await insertMessage(t.database, {
      resident: RESIDENT,
      booking: bookingJson({ bookingId: 'BK-B', start, cancelAllowed: true, rebookAllowed: true }),
    });
    const message = await browser.get(`/inbox/meddelanden/${id}`);
    expect(linksOf(message.text)).toEqual([]);
    expect(message.text).toContain('Lägg till i kalendern');
  });

  it('When the time has passed or is no longer booked, then the message offers neither links nor a calendar file', async () => {
    const past = new Date(Date.now() - 86_400_000).toISOString();
    await insertBookingPost(t.database, {
      resident: RESIDENT,
      bookingId: 'BK-PAST',
      details: { start: past, cancelBookingAllowed: true },
    });
    const passed = await insertMessage(t.database, {
      resident: RESIDENT,
      booking: bookingJson({ bookingId: 'BK-PAST', start: past, cancelAllowed: true }),
    });
    const gone = await insertMessage(t.database, {
      resident: RESIDENT,
      booking: bookingJson({ bookingId: 'BK-GONE', cancelAllowed: true, rebookAllowed: true }),
    });
    for (const id of [passed, gone]) {
      const message = await browser.get(`/inbox/meddelanden/${id}`);
      expect(linksOf(message.text), String(id)).toEqual([]);
      expect(message.text, String(id)).not.toContain('Lägg till i kalendern');
    }
    expect((await browser.get('/inbox/kalender.ics?enhet=SE2321000016-TEST&bokning=BK-PAST')).status).toBe(404);
  });

  it('When a cancelled time could be changed on the web, then the cancellation links to booking a new time; otherwise it does not', async () => {
    const web = await insertMessage(t.database, {
      resident: RESIDENT,
      kind: 'cancellation',
      booking: bookingJson({ bookingId: 'BK-C', rebookAllowed: true, cancelAllowed: false }),
    });
    const phone = await insertMessage(t.database, {
      resident: RESIDENT,
      kind: 'cancellation',
      booking: bookingJson({ bookingId: 'BK-D', rebookAllowed: false, cancelAllowed: false }),
    });
    const withLink = await browser.get(`/inbox/meddelanden/${web}`);
    expect(linksOf(withLink.text)).toEqual(['https://bokning.example.se/SE2321000016-TEST/BK-C?atgard=boka']);
    expect(withLink.text).toContain('Boka en ny tid i bokningstjänsten');
    expect(withLink.text).not.toContain('Lägg till i kalendern');
    expect(linksOf((await browser.get(`/inbox/meddelanden/${phone}`)).text)).toEqual([]);
  });

  it('When an invitation has no time, then its message links to booking one', async () => {
    const id = await insertMessage(t.database, {
      resident: RESIDENT,
      kind: 'invitation',
      booking: bookingJson({
        bookingId: 'INV-X',
        categorization: 'Invitation',
        start: null,
        end: null,
        cancelAllowed: false,
        rebookAllowed: false,
      }),
    });
    expect(linksOf((await browser.get(`/inbox/meddelanden/${id}`)).text)).toEqual([
      'https://bokning.example.se/SE2321000016-TEST/INV-X?atgard=boka',
    ]);
  });
});

describe('Read, unread and delete', () => {
  it('When the citizen marks an opened message unread, then it is unread again; without the CSRF token or for another citizen, nothing changes', async () => {
    const id = await insertMessage(t.database, { resident: RESIDENT, subject: 'Att läsa igen' });
    await browser.get(`/inbox/meddelanden/${id}`);
    expect((await browser.get('/inbox')).text).not.toMatch(
      new RegExp(`<li class="unread">\\s*<a href="/inbox/meddelanden/${id}">`),
    );
    expect((await browser.request('POST', `/inbox/meddelanden/${id}/markera-olast`, {})).status).toBe(403);
    const marked = await browser.post(`/inbox/meddelanden/${id}/markera-olast`);
    expect(marked.status).toBe(303);
    expect(marked.location).toBe('/inbox?klart=olast');
    const inbox = await browser.get(marked.location!);
    expect(inbox.text).toContain('Meddelandet är markerat som oläst.');
    expect(inbox.text).toMatch(new RegExp(`<li class="unread">\\s*<a href="/inbox/meddelanden/${id}">`));

    const others = await insertMessage(t.database, { resident: CITIZEN_B, readAt: new Date('2026-01-01T00:00:00Z') });
    expect((await browser.post(`/inbox/meddelanden/${others}/markera-olast`)).status).toBe(404);
  });

  it('When the citizen chooses to delete, then a confirmation page comes first and only its form deletes', async () => {
    const id = await insertMessage(t.database, { resident: RESIDENT, subject: 'Ska bort' });
    const confirm = await browser.get(`/inbox/meddelanden/${id}/ta-bort`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Vill du ta bort meddelandet?');
    expect(confirm.text).toContain('<strong>Ska bort</strong>');
    expect(confirm.text).toContain(`<form method="post" action="/inbox/meddelanden/${id}/ta-bort">`);
    expect(confirm.text).toContain(`<a href="/inbox/meddelanden/${id}">Nej, behåll det</a>`);
    // Looking at the confirmation deletes nothing.
    expect((await browser.get('/inbox')).text).toContain(`/inbox/meddelanden/${id}"`);
    expect((await browser.post(`/inbox/meddelanden/${id}/ta-bort`)).location).toBe('/inbox?klart=borttaget');
    expect((await browser.get(`/inbox/meddelanden/${id}/ta-bort`)).status).toBe(404);
  });
});

describe('Pages for everyone', () => {
  it('When anyone opens the help page or the accessibility statement, then it is there without signing in, linked from every page', async () => {
    const visitor = new PageClient(t.url);
    for (const [path, heading] of [
      ['/hjalp', 'Hjälp och kontakt'],
      ['/tillganglighet', 'Tillgänglighetsredogörelse för 1177 Inkorgen'],
    ] as const) {
      const page = await visitor.get(path);
      expect(page.status, path).toBe(200);
      expect(page.text).toContain(`<h1>${heading}</h1>`);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    }
    const statement = (await visitor.get('/tillganglighet')).text;
    for (const part of ['delvis förenlig', 'Kända brister', 'Digg', 'Hur vi testat']) expect(statement).toContain(part);
    for (const path of ['/inbox/logga-in', '/inbox', '/admin/logga-in']) {
      const page = await (path === '/inbox' ? browser : visitor).get(path);
      expect(page.text, path).toContain('<a href="/tillganglighet">Tillgänglighetsredogörelse</a>');
      expect(page.text, path).toContain('<a href="/hjalp">Hjälp och kontakt</a>');
    }
  });

  it('When the e-mail tells where to turn notifications off, then it uses the name the page uses', () => {
    const mail = loadNotificationTexts().email(1);
    expect(mail.text).toContain('under Aviseringar i inkorgen');
    expect(mail.html).toContain('under Aviseringar i inkorgen');
    expect(mail.text).not.toContain('Inställningar');
  });
});
