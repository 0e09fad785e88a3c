// /admin in a real headless Chromium (Debian's chromium, driven by playwright-core): sign in, add a
// system, see it in the list, set it silent, deactivate it. A screenshot goes to test-results/.
import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { CHROMIUM, chromiumPrerequisites, requireOrSkip } from '../helpers/prerequisites.js';

const available = requireOrSkip('admin browser test', chromiumPrerequisites());
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let t: TestApp;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!available) return;
  t = await startTestApp();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  page = await browser.newPage({ locale: 'sv-SE' });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

function row(hsaId: string) {
  return page.locator('section[aria-labelledby="live-heading"] tbody tr', {
    has: page.locator('code', { hasText: hsaId }),
  });
}

describe.skipIf(!available)('/admin in a browser', () => {
  it('When an administrator signs in, adds a system, sets it silent and deactivates it, then the page and ingest follow each step', async () => {
    await page.goto(`${t.url}/admin`);
    expect(new URL(page.url()).pathname).toBe('/admin/logga-in');
    await expect.poll(() => page.getByRole('heading', { name: 'Utvecklingsinloggning' }).isVisible()).toBe(true);
    await page.getByLabel('Ditt namn').fill('Dagny Admin');
    await page.getByRole('button', { name: 'Logga in' }).click();
    await page.waitForURL(`${t.url}/admin`);
    expect(await page.locator('header').innerText()).toContain('Inloggad som Dagny Admin');

    // Add
    // The page also has the care units' loading form: fields are found within the source system's form.
    const addForm = page.getByRole('group', { name: 'Nytt källsystem' });
    await addForm.getByLabel('Miljö').selectOption('qa');
    await addForm.getByLabel('HSA-id').fill('SE2321000016-WEBB');
    await page.getByLabel('Namn', { exact: true }).fill('Webbokning Region Exempel');
    await page.getByRole('button', { name: 'Lägg till' }).click();
    await page.waitForURL(/klart=tillagt/);
    expect(await page.getByRole('status').innerText()).toBe('Källsystemet har lagts till.');
    expect(await row('SE2321000016-WEBB').locator('td').allInnerTexts()).toEqual(
      expect.arrayContaining(['QA (test)', 'SE2321000016-WEBB', 'Webbokning Region Exempel', 'Aktivt']),
    );
    expect(t.app.directory.modeOf('SE2321000016-WEBB')).toBe('active');

    // Set silent
    await row('SE2321000016-WEBB').getByLabel('Läge för Webbokning Region Exempel').selectOption('silent');
    await row('SE2321000016-WEBB').getByRole('button', { name: 'Spara läge' }).click();
    await page.waitForURL(/klart=andrat/);
    expect(await row('SE2321000016-WEBB').locator('td').nth(3).innerText()).toBe('Tyst');
    expect(t.app.directory.modeOf('SE2321000016-WEBB')).toBe('silent');
    fs.mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/admin-source-systems.png', fullPage: true });

    // Deactivate: asks first
    await row('SE2321000016-WEBB').getByRole('link', { name: 'Avaktivera…' }).click();
    await page.waitForURL(/\/avaktivera$/);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Avaktivera källsystemet?');
    expect(t.app.directory.modeOf('SE2321000016-WEBB')).toBe('silent');
    await page.getByRole('button', { name: 'Ja, avaktivera' }).click();
    await page.waitForURL(/klart=avaktiverat/);
    expect(await row('SE2321000016-WEBB').count()).toBe(0);
    expect(await page.locator('section[aria-labelledby="history-heading"]').innerText()).toContain('SE2321000016-WEBB');
    expect(await page.locator('section[aria-labelledby="audit-heading"] tbody tr').first().innerText()).toContain(
      'Dagny Admin',
    );
    expect(t.app.directory.modeOf('SE2321000016-WEBB')).toBeUndefined();
    expect(fs.statSync('test-results/admin-source-systems.png').size).toBeGreaterThan(1000);
  }, 90_000);

  it("When the add form is sent without a name, then the browser's own required check keeps it and nothing is stored", async () => {
    await page.goto(`${t.url}/admin`);
    await page.getByRole('group', { name: 'Nytt källsystem' }).getByLabel('HSA-id').fill('SE2321000016-EMPTYNAME');
    await page.getByRole('button', { name: 'Lägg till' }).click();
    // `required` keeps the form in the browser: still on the same page, nothing stored.
    expect(new URL(page.url()).search).toBe('');
    expect(t.app.directory.modeOf('SE2321000016-EMPTYNAME')).toBeUndefined();
  }, 60_000);
});
