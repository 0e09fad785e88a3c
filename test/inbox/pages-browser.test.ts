// Every page of the service in a real Chromium (Debian's chromium, driven by playwright-core) at 320,
// 390 and 1280 CSS pixels: the page is exactly as wide as the window (no horizontal scrolling, WCAG
// 1.4.10), axe-core finds nothing against WCAG 2.1 A/AA and its best practices, the skip link and the
// landmarks are there, and the focus ring stands out at 3:1 or more (WCAG 1.4.11). Then a citizen
// walks through the list, a message, mark-as-unread, delete (with its confirmation) and the settings
// with the keyboard only. Screenshots of each page at each width go to test-results/pages/, and to
// docs/screenshots/ with UPDATE_SCREENSHOTS=1 (kept in the repository for review).
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCitizenSettings } from '../../src/channels/settings.js';
import { loadMessageRenderer } from '../../src/message-engine/render-message.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { bookingJson, insertBookingPost, insertMessage } from '../helpers/inbox-fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const AXE = fs.readFileSync(path.resolve('node_modules/axe-core/axe.min.js'), 'utf8');
const SCREENSHOTS = path.resolve(process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-results/pages');
const WIDTHS = [320, 390, 1280] as const;
const BOOKING_SERVICE = 'https://bokning.example.se/{careUnit}/{bookingId}?atgard={action}';
const RESIDENT = '191212121212';
const available = fs.existsSync(CHROMIUM);
if (!available) console.warn(`SKIPPED: the browser test needs Chromium at ${CHROMIUM} (apt-get install chromium)`);

let t: TestApp;
let browser: Browser;
let citizen: BrowserContext;
let admin: BrowserContext;
let anonymous: BrowserContext;
const ids: Record<string, number> = {};

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

async function seed(app: TestApp): Promise<void> {
  const render = loadMessageRenderer(undefined, { bookingService: true });
  const unit = { healthcareFacility: 'SE2321000016-TEST', healthcareFacilityName: 'Vårdcentralen Test' };
  const soon = new Date(Date.now() + 10 * 86_400_000);
  soon.setUTCHours(8, 30, 0, 0);
  const soonEnd = new Date(soon.getTime() + 20 * 60_000);
  const invitation = {
    ...unit,
    bookingId: 'INV-1',
    start: soon.toISOString(),
    end: soonEnd.toISOString(),
    purpose: 'Vaccination',
    reason: '4-årskontroll',
    careTypeName: 'Sjuksköterskebesök',
    cancelBookingAllowed: true,
    rebookingAllowed: true,
  };
  const message = (
    kind: Parameters<typeof render>[0],
    details: Parameters<typeof render>[1],
    extra: Record<string, unknown> = {},
  ) => {
    const text = render(kind, details);
    return {
      resident: RESIDENT,
      kind,
      subject: text.subject,
      body: text.body,
      careUnitName: details.healthcareFacilityName ?? null,
      booking: bookingJson({
        bookingId: details.bookingId,
        categorization: kind.startsWith('invitation') ? 'Invitation' : 'Booking',
        start: details.start ?? null,
        end: details.end ?? null,
        purpose: details.purpose ?? null,
        reason: details.reason ?? null,
        careTypeName: details.careTypeName ?? null,
        timeTypeName: null,
        performerName: null,
        resourceName: null,
        cancelAllowed: details.cancelBookingAllowed === true,
        rebookAllowed: details.rebookingAllowed === true,
      }),
      ...extra,
    };
  };
  ids.cancelled = await insertMessage(app.database, {
    ...message('cancellation', {
      ...unit,
      bookingId: 'BK-OLD',
      start: '2031-02-03T09:00:00.000Z',
      careTypeName: 'Läkarbesök',
      cancelBookingAllowed: true,
    }),
    readAt: new Date('2026-01-05T09:00:00Z'),
  });
  ids.open = await insertMessage(
    app.database,
    message('invitation', {
      ...unit,
      healthcareFacilityName: 'BVC Test',
      bookingId: 'INV-OPEN',
      purpose: 'Hälsobesök',
    }),
  );
  ids.invitation = await insertMessage(app.database, message('invitation', invitation));
  await insertBookingPost(app.database, {
    resident: RESIDENT,
    bookingId: 'INV-1',
    categorization: 'Invitation',
    details: invitation,
  });
  await insertBookingPost(app.database, {
    resident: RESIDENT,
    bookingId: 'BK-2',
    details: {
      ...unit,
      healthcareFacilityName: 'Folktandvården Test med ett mycket långt namn utan pauser',
      start: new Date(soon.getTime() + 5 * 86_400_000).toISOString(),
      careTypeName: 'Tandvård',
    },
  });
}

/** The pages to check, each opened from a context that is signed in as it needs. */
function pages(): { name: string; context: () => BrowserContext; path: string; status?: number }[] {
  return [
    { name: 'start', context: () => anonymous, path: '/' },
    { name: 'not-found', context: () => anonymous, path: '/finns-inte', status: 404 },
    { name: 'inbox-sign-in', context: () => anonymous, path: '/inbox/logga-in' },
    { name: 'inbox', context: () => citizen, path: '/inbox' },
    { name: 'message-invitation', context: () => citizen, path: `/inbox/meddelanden/${ids.invitation}` },
    { name: 'message-cancellation', context: () => citizen, path: `/inbox/meddelanden/${ids.cancelled}` },
    { name: 'message-delete-confirmation', context: () => citizen, path: `/inbox/meddelanden/${ids.open}/ta-bort` },
    { name: 'settings', context: () => citizen, path: '/inbox/installningar' },
    { name: 'help', context: () => anonymous, path: '/hjalp' },
    { name: 'accessibility-statement', context: () => anonymous, path: '/tillganglighet' },
    { name: 'admin-sign-in', context: () => anonymous, path: '/admin/logga-in' },
    { name: 'admin', context: () => admin, path: '/admin' },
  ];
}

/** Contrast ratio (WCAG relative luminance) of two CSS rgb() colours. */
function contrast(a: string, b: string): number {
  const luminance = (css: string) => {
    const [r, g, bl] = (css.match(/[\d.]+/g) ?? [])
      .slice(0, 3)
      .map((v) => Number(v) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** The focused element's outline and the colour behind it (the first ancestor with a background). */
async function focusRing(
  page: Page,
): Promise<{ outline: string; width: number; style: string; behind: string; text: string; tag: string }> {
  return page.evaluate(() => {
    const element = document.activeElement as HTMLElement;
    const style = getComputedStyle(element);
    let node: HTMLElement | null = element.parentElement;
    let behind = 'rgb(255, 255, 255)';
    while (node) {
      const bg = getComputedStyle(node).backgroundColor;
      if (bg && bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') {
        behind = bg;
        break;
      }
      node = node.parentElement;
    }
    return {
      outline: style.outlineColor,
      width: parseFloat(style.outlineWidth),
      style: style.outlineStyle,
      behind,
      text: element.textContent?.trim() ?? '',
      tag: element.tagName,
    };
  });
}

describe.skipIf(!available)('Every page in Chromium at 320, 390 and 1280 px', () => {
  beforeAll(async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    t = await startTestApp({ ROLES: 'web', BOOKING_SERVICE_URL: BOOKING_SERVICE });
    await seed(t);
    browser = await launch();
    // bypassCSP: the pages allow no script at all; only the test's axe-core may run.
    const options = { locale: 'sv-SE', bypassCSP: true, viewport: { width: 1280, height: 900 } };
    [citizen, admin, anonymous] = await Promise.all([
      browser.newContext(options),
      browser.newContext(options),
      browser.newContext(options),
    ]);
    const signIn = await citizen.newPage();
    await signIn.goto(`${t.url}/inbox/logga-in`);
    await signIn.getByLabel('Personnummer').fill(RESIDENT);
    await signIn.getByRole('button', { name: 'Logga in' }).click();
    await signIn.waitForURL(`${t.url}/inbox`);
    await signIn.close();
    const adminSignIn = await admin.newPage();
    await adminSignIn.goto(`${t.url}/admin/logga-in`);
    await adminSignIn.getByLabel('Ditt namn').fill('Dagny Admin');
    await adminSignIn.getByRole('button', { name: 'Logga in' }).click();
    await adminSignIn.waitForURL(`${t.url}/admin`);
    await adminSignIn.getByLabel('HSA-id (som systemet skickar som sourceSystem)').fill('SE2321000016-WEBBOKNING');
    await adminSignIn.getByLabel('Namn', { exact: true }).fill('Webbokning Region Exempel');
    await adminSignIn.getByRole('button', { name: 'Lägg till', exact: true }).click();
    await adminSignIn.waitForURL(/klart=tillagt/);
    // A silent loading period, so that its table is on the page too.
    await adminSignIn.getByLabel('Vårdenhetens HSA-id').fill('SE2321000016-VARDENHET-MED-ETT-LANGT-HSA-ID');
    await adminSignIn
      .getByLabel('Till (svensk tid)')
      .fill(`${new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10)}T12:00`);
    await adminSignIn.getByRole('button', { name: 'Registrera tyst inläsning' }).click();
    await adminSignIn.waitForLoadState();
    await expect(adminSignIn.getByRole('region', { name: 'Tabell över tysta inläsningar' }).count()).resolves.toBe(1);
    await adminSignIn.close();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  for (const width of WIDTHS) {
    it(`When each page is shown ${width} px wide, then it fits the window, axe finds nothing, and it has a skip link and landmarks`, async () => {
      const problems: string[] = [];
      for (const target of pages()) {
        const page = await target.context().newPage();
        await page.setViewportSize({ width, height: 800 });
        const response = await page.goto(`${t.url}${target.path}`);
        expect(response?.status(), target.name).toBe(target.status ?? 200);
        const size = await page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          body: document.body.scrollWidth,
          inner: window.innerWidth,
        }));
        if (size.scroll !== width || size.body > width || size.inner !== width)
          problems.push(`${target.name} @${width}: page is ${size.scroll} px wide (body ${size.body})`);
        await page.addScriptTag({ content: AXE });
        const result = await page.evaluate(async () => {
          const axe = (
            window as unknown as {
              axe: {
                run: (
                  context: Document,
                  options: object,
                ) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }>;
              };
            }
          ).axe;
          return axe.run(document, {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
          });
        });
        for (const violation of result.violations)
          problems.push(
            `${target.name} @${width}: axe ${violation.id} at ${violation.nodes.map((n) => n.target.join(' ')).join(', ')}`,
          );
        const landmarks = await page.evaluate(() => ({
          banner: document.querySelectorAll('body > header').length,
          main: document.querySelectorAll('main').length,
          contentinfo: document.querySelectorAll('body > footer').length,
          skip: document.querySelector('body > a.skip-link')?.getAttribute('href') ?? null,
        }));
        expect(landmarks, target.name).toEqual({ banner: 1, main: 1, contentinfo: 1, skip: '#innehall' });
        await page.screenshot({ path: path.join(SCREENSHOTS, `${target.name}-${width}.png`), fullPage: true });
        await page.close();
      }
      expect(problems).toEqual([]);
    }, 180_000);
  }

  it('When the citizen presses Tab first, then the skip link shows and Enter takes focus to the main content', async () => {
    const page = await citizen.newPage();
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${t.url}/inbox`);
    await page.keyboard.press('Tab');
    const skip = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement;
      const box = element.getBoundingClientRect();
      return { text: element.textContent, top: box.top, bottom: box.bottom };
    });
    expect(skip.text).toBe('Hoppa till innehållet');
    expect(skip.top).toBeGreaterThanOrEqual(0);
    expect(skip.bottom).toBeLessThanOrEqual(800);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('innehall');
    await page.close();
  });

  it('When someone tabs through the message, settings and /admin pages, then every focused control shows a ring of at least 3:1 against what is behind it', async () => {
    const walks: { context: BrowserContext; path: string; expected: string[] }[] = [
      {
        context: citizen,
        path: `/inbox/meddelanden/${ids.invitation}`,
        expected: ['Logga ut', 'Markera som oläst', 'Ta bort meddelandet', 'Tillgänglighetsredogörelse'],
      },
      {
        context: citizen,
        path: '/inbox/installningar',
        expected: ['Aviseringar', 'Spara aviseringar', 'Hjälp och kontakt'],
      },
      {
        context: admin,
        path: '/admin',
        expected: ['Logga ut', 'Spara läge', 'Avaktivera…', 'Lägg till', 'Registrera tyst inläsning'],
      },
    ];
    for (const walk of walks) {
      const page = await walk.context.newPage();
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(`${t.url}${walk.path}`);
      const seen: string[] = [];
      for (let i = 0; i < 200; i++) {
        await page.keyboard.press('Tab');
        const ring = await focusRing(page);
        // Past the last control, focus goes back to the document.
        if (ring.tag === 'BODY') break;
        seen.push(ring.text);
        const where = `${walk.path}: ${ring.tag} "${ring.text.slice(0, 40)}"`;
        expect(ring.style, where).not.toBe('none');
        expect(ring.width, where).toBeGreaterThanOrEqual(2);
        expect(
          contrast(ring.outline, ring.behind),
          `${where}: ${ring.outline} on ${ring.behind}`,
        ).toBeGreaterThanOrEqual(3);
      }
      expect(seen, walk.path).toEqual(expect.arrayContaining(walk.expected));
      if (walk.path.startsWith('/inbox/meddelanden')) {
        expect(seen.some((text) => text.startsWith('Avboka tiden i bokningstjänsten'))).toBe(true);
        expect(seen.some((text) => text.startsWith('Lägg till i kalendern'))).toBe(true);
      }
      await page.close();
    }
  });

  it('When the citizen uses only the keyboard, then they open a message, mark it unread, delete another after confirming, and save the settings', async () => {
    const page = await citizen.newPage();
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${t.url}/inbox`);
    const tabTo = async (test: (element: { href: string | null; text: string; id: string }) => boolean) => {
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press('Tab');
        const focused = await page.evaluate(() => ({
          href: document.activeElement?.getAttribute('href') ?? null,
          text: document.activeElement?.textContent?.trim() ?? '',
          id: document.activeElement?.id ?? '',
        }));
        if (test(focused)) return;
      }
      throw new Error('the control was never reached with Tab');
    };

    // Open the open invitation (unread) from the list.
    await tabTo((f) => f.href === `/inbox/meddelanden/${ids.open}`);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${t.url}/inbox/meddelanden/${ids.open}`);
    await expect
      .poll(() => page.getByRole('link', { name: /Boka en tid/ }).getAttribute('href'))
      .toBe('https://bokning.example.se/SE2321000016-TEST/INV-OPEN?atgard=boka');

    // Mark it unread again.
    await tabTo((f) => f.text === 'Markera som oläst');
    await page.keyboard.press('Enter');
    await page.waitForURL(/klart=olast/);
    expect(await page.getByRole('status').innerText()).toBe('Meddelandet är markerat som oläst.');
    expect(await page.locator(`li.unread a[href="/inbox/meddelanden/${ids.open}"]`).count()).toBe(1);

    // Delete the cancellation: the link asks first; "Nej" keeps it, "Ja" deletes.
    await page.goto(`${t.url}/inbox/meddelanden/${ids.cancelled}`);
    await tabTo((f) => f.text === 'Ta bort meddelandet');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${t.url}/inbox/meddelanden/${ids.cancelled}/ta-bort`);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Vill du ta bort meddelandet?');
    await tabTo((f) => f.text === 'Nej, behåll det');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${t.url}/inbox/meddelanden/${ids.cancelled}`);
    await tabTo((f) => f.text === 'Ta bort meddelandet');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/ta-bort$/);
    await tabTo((f) => f.text === 'Ja, ta bort meddelandet');
    await page.keyboard.press('Enter');
    await page.waitForURL(/klart=borttaget/);
    expect(await page.getByRole('status').innerText()).toBe('Meddelandet är borttaget.');
    expect(await page.locator(`a[href="/inbox/meddelanden/${ids.cancelled}"]`).count()).toBe(0);

    // Settings, from the banner's navigation.
    await tabTo((f) => f.href === '/inbox/installningar' && f.text === 'Aviseringar');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${t.url}/inbox/installningar`);
    await tabTo((f) => f.id === 'sms-enabled');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.type('070-765 43 21');
    await tabTo((f) => f.id === 'email-enabled');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.type('invanare@example.se');
    await tabTo((f) => f.text === 'Spara aviseringar');
    await page.keyboard.press('Enter');
    await page.waitForURL(/klart=sparat/);
    expect(await page.getByRole('status').innerText()).toBe('Dina aviseringsinställningar är sparade.');
    expect(await readCitizenSettings(t.database, RESIDENT)).toEqual({
      sms: { enabled: true, phone: '+46707654321' },
      email: { enabled: true, address: 'invanare@example.se' },
    });
    await page.close();
  }, 120_000);
});
