// The /inbox pages in a real headless Chromium (Debian's chromium, driven by playwright-core), by
// keyboard where a citizen would use it: sign in, see the list, open a message, see it marked read,
// change the notification settings. Producer markup must stay inert in the browser. Screenshots are
// kept under test-results/inbox/.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCitizenSettings } from '../../src/channels/settings.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { CHROMIUM, chromiumPrerequisites, requireOrSkip } from '../helpers/prerequisites.js';
import { bookingJson, CITIZEN_A, insertBookingPost, insertMessage } from '../helpers/inbox-fixtures.js';

const SCREENSHOTS = path.resolve('test-results/inbox');
const available = requireOrSkip('inbox browser test', chromiumPrerequisites());

let t: TestApp;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];
let unreadId: number;

describe.skipIf(!available)('The inbox in Chromium', () => {
  beforeAll(async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    t = await startTestApp({ ROLES: 'web' });
    await insertMessage(t.database, {
      resident: CITIZEN_A,
      subject: 'Bokningsbekräftelse från Vårdcentralen Test',
      readAt: new Date('2026-01-05T09:00:00Z'),
    });
    await insertMessage(t.database, {
      resident: CITIZEN_A,
      kind: 'invitation',
      subject: 'Kallelse <script>window.__pwned = 1</script>',
      body: 'Hej!\n<img src=x onerror="window.__pwned = 2">\nVälkommen.',
      careUnitName: 'Mottagning <b>fet</b>',
      booking: bookingJson({ categorization: 'Invitation', rebookAllowed: true }),
    });
    unreadId = await insertMessage(t.database, {
      resident: CITIZEN_A,
      kind: 'rebooking',
      subject: 'Ombokad tid hos Vårdcentralen Test',
      body: 'Hej!\n\nDin tid är ombokad.',
      booking: bookingJson({
        previousStart: '2031-03-01T09:00:00.000Z',
        previousEnd: '2031-03-01T09:30:00.000Z',
        rebookAllowed: true,
      }),
    });
    await insertBookingPost(t.database, {
      resident: CITIZEN_A,
      details: {
        start: new Date(Date.now() + 7 * 86_400_000).toISOString(),
        careTypeName: 'Provtagning',
        cancelBookingAllowed: true,
      },
    });
    browser = await chromium.launch({
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
    page = await browser.newPage({ locale: 'sv-SE', viewport: { width: 1000, height: 900 } });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('When a citizen signs in with the keyboard, then the inbox lists the messages with the unread ones marked', async () => {
    await page.goto(`${t.url}/inbox`);
    expect(new URL(page.url()).pathname).toBe('/inbox/logga-in');
    await expect(
      page.getByRole('heading', { name: 'Utvecklingsinloggning – inte för riktiga invånare' }).isVisible(),
    ).resolves.toBe(true);
    await page.screenshot({ path: path.join(SCREENSHOTS, '1-sign-in.png'), fullPage: true });
    await page.getByLabel('Personnummer').focus();
    await page.keyboard.type('19121212-1212');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${t.url}/inbox`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Inkorgen');
    await expect(page.locator('li.unread').count()).resolves.toBe(2);
    await expect(page.locator('.mark').allTextContents()).resolves.toEqual(['Oläst', 'Oläst']);
    await expect(page.getByText('Du har 2 olästa meddelanden.').isVisible()).resolves.toBe(true);
    await expect(page.locator('ul.bookings').getByText('Provtagning').isVisible()).resolves.toBe(true);
    await page.screenshot({ path: path.join(SCREENSHOTS, '2-inbox.png'), fullPage: true });
  });

  it('When producer text holds markup, then the browser shows it as text and runs nothing', async () => {
    await expect(page.getByText('Kallelse <script>window.__pwned = 1</script>').isVisible()).resolves.toBe(true);
    await page.getByRole('link', { name: /Kallelse <script>/ }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'Kallelse <script>window.__pwned = 1</script>',
    );
    await expect(page.locator('.message-body').textContent()).resolves.toContain(
      '<img src=x onerror="window.__pwned = 2">',
    );
    await expect(page.locator('img, b, script').count()).resolves.toBe(0);
    await expect(page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).resolves.toBeUndefined();
    expect(dialogs).toEqual([]);
    await page.screenshot({ path: path.join(SCREENSHOTS, '3-producer-markup-inert.png'), fullPage: true });
    await page.getByRole('link', { name: 'Tillbaka till inkorgen' }).click();
    await page.waitForURL(`${t.url}/inbox`);
  });

  it('When the citizen tabs to an unread message and opens it, then it shows what can be done and is no longer marked unread', async () => {
    const target = `/inbox/meddelanden/${unreadId}`;
    // The invitation opened before is read now: only this one is left unread.
    await expect(page.locator(`li.unread a[href="${target}"]`).count()).resolves.toBe(1);
    await expect(page.locator('li.unread').count()).resolves.toBe(1);
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate((href) => document.activeElement?.getAttribute('href') === href, target);
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${t.url}${target}`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'Ombokad tid hos Vårdcentralen Test',
    );
    await expect(page.getByText('Din tid är ombokad.').isVisible()).resolves.toBe(true);
    // No booking service is configured here: no link promises a rebooking.
    await expect(page.getByRole('link', { name: /Boka om/ }).count()).resolves.toBe(0);
    await expect(page.getByRole('button', { name: 'Markera som oläst' }).isVisible()).resolves.toBe(true);
    await page.screenshot({ path: path.join(SCREENSHOTS, '4-message.png'), fullPage: true });
    await page.goBack();
    await page.reload();
    await expect(page.locator('li.unread').count()).resolves.toBe(0);
    await expect(page.locator(`li:not(.unread) a[href="${target}"]`).count()).resolves.toBe(1);
    await expect(page.getByText('Du har inga olästa meddelanden.').isVisible()).resolves.toBe(true);
  });

  it('When the citizen turns on SMS and e-mail in the settings form, then the settings are saved and shown', async () => {
    await page.getByRole('link', { name: 'Aviseringar' }).first().click();
    await page.waitForURL(`${t.url}/inbox/installningar`);
    await page.getByLabel('Meddela mig med SMS').focus();
    await page.keyboard.press('Space');
    await page.getByLabel('Mobilnummer').fill('070-765 43 21');
    await page.getByLabel('Meddela mig med e-post').check();
    await page.getByLabel('E-postadress').fill('invanare@example.se');
    await page.getByRole('button', { name: 'Spara aviseringar' }).click();
    await page.waitForURL(/klart=sparat/);
    await expect(page.getByText('Dina aviseringsinställningar är sparade.').isVisible()).resolves.toBe(true);
    await expect(page.getByLabel('Meddela mig med SMS').isChecked()).resolves.toBe(true);
    await expect(page.getByLabel('Mobilnummer').inputValue()).resolves.toBe('+46707654321');
    await page.screenshot({ path: path.join(SCREENSHOTS, '5-settings-saved.png'), fullPage: true });
    expect(await readCitizenSettings(t.database, CITIZEN_A)).toEqual({
      sms: { enabled: true, phone: '+46707654321' },
      email: { enabled: true, address: 'invanare@example.se' },
    });
    // Screenshots are the test's artifacts: they must exist.
    expect(fs.readdirSync(SCREENSHOTS).filter((name) => name.endsWith('.png')).length).toBeGreaterThanOrEqual(5);
  });
});
