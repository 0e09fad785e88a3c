// The administrators' console on /admin in a real headless Chromium (playwright-core): an HSA-id that is
// not one is refused in Swedish; each source system's statistics; an unregistered system registered in one
// step from its row; dead letters retried for a whole source system; a booking traced by source system and
// booking id; the same citizen traced by personal identity number with the support role (audited); and
// deactivation asking first. Screenshots of each go to test-results/console/, or to
// docs/screenshots/admin-*.png with UPDATE_SCREENSHOTS=1 (kept in the repository for review).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCitizenSettings } from '../../src/channels/settings.js';
import { rows } from '../../src/db/database.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { CHROMIUM, chromiumPrerequisites, requireOrSkip } from '../helpers/prerequisites.js';
import { startBookingProducer, sampleTimeslot, type BookingProducer } from '../helpers/booking-producer.js';
import { engagement, notificationEnvelope, postNotification, TEST_SOURCE_SYSTEM } from '../helpers/soap.js';

const available = requireOrSkip("administrators' console browser test", chromiumPrerequisites());
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-results/console';
const UNIT = 'SE2321000016-VC3';
const RESIDENT = '197706062385';
const UNREGISTERED = 'SE2321000016-NYWEBB';

let t: TestApp;
let producer: BookingProducer;
let browser: Browser;
let page: Page;

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function pending(): Promise<number> {
  const [row] = await rows<{ n: number }>(
    t.database.orm,
    sql`select count(*)::int as n from inbound_notification where status = 'pending'`,
  );
  return Number(row!.n);
}

async function shot(name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `admin-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  expect(fs.statSync(file).size).toBeGreaterThan(1000);
}

beforeAll(async () => {
  if (!available) return;
  producer = await startBookingProducer();
  t = await startTestApp(
    {
      NTJP_GETBOOKINGDETAILS_URL: producer.url,
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'ei-console-web-')),
      NOTIFY_DIGEST_SECONDS: '1',
      SMS_QUIET_HOURS: '',
    },
    { engine: { pollMs: 20 } },
  );
  await t.activate(TEST_SOURCE_SYSTEM);
  // What the console will show: a confirmed booking with an e-mail sent, one the producer answers with
  // nonsense (a dead letter), and an unregistered system sending for two care units.
  await saveCitizenSettings(t.database, RESIDENT, {
    sms: { enabled: false, phone: null },
    email: { enabled: true, address: 'web@example.se' },
  });
  producer.addBooking(
    UNIT,
    'WEB-1',
    sampleTimeslot({
      subjectOfCare: RESIDENT,
      startTimeInclusive: '20270210093000',
      endTimeExclusive: '20270210100000',
      healthcareFacilityName: 'Vårdcentralen Björken',
    }),
  );
  producer.handle((request) =>
    request.bookingId === 'WEB-BAD' ? { status: 200, body: '<nonsense/>', contentType: 'text/xml' } : undefined,
  );
  const at = (bookingId: string) =>
    engagement({
      registeredResidentIdentification: RESIDENT,
      logicalAddress: UNIT,
      businessObjectInstanceIdentifier: bookingId,
    });
  await postNotification(t.url, notificationEnvelope([at('WEB-1'), at('WEB-BAD')]));
  await postNotification(
    t.url,
    notificationEnvelope([
      engagement({
        sourceSystem: UNREGISTERED,
        logicalAddress: 'SE2321000016-VC7',
        businessObjectInstanceIdentifier: 'U-1',
      }),
      engagement({
        sourceSystem: UNREGISTERED,
        logicalAddress: 'SE2321000016-VC8',
        businessObjectInstanceIdentifier: 'U-2',
      }),
    ]),
  );
  await until(pending, (n) => n === 0);
  await until(
    async () => rows<{ status: string }>(t.database.orm, sql`select status from notification_delivery`),
    (found) => found.length > 0 && found.every((d) => d.status === 'sent'),
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  page = await browser.newPage({ locale: 'sv-SE', viewport: { width: 1400, height: 900 } });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await t?.close();
  await producer?.close();
});

const section = (heading: string) =>
  page.locator('section', { has: page.getByRole('heading', { name: heading, exact: true }) });

describe.skipIf(!available)("the administrators' console in a browser", () => {
  it('When a support administrator signs in, then an HSA-id that is not one is refused in Swedish and the statistics show each source system', async () => {
    await page.goto(`${t.url}/admin`);
    await page.getByLabel('Ditt namn').fill('Stina Support');
    await page.getByLabel('Med supportroll').check();
    await page.getByRole('button', { name: 'Logga in' }).click();
    await page.waitForURL(`${t.url}/admin`);

    await page.getByLabel('HSA-id (som systemet').fill('inte ett hsa id!');
    await page.getByLabel('Namn', { exact: true }).fill('Felaktigt');
    await page.getByRole('button', { name: 'Lägg till' }).click();
    const alert = page.getByRole('alert');
    expect(await alert.innerText()).toContain('HSA-id måste skrivas som SE, organisationsnumret');
    await shot('hsa-id-error');

    await page.goto(`${t.url}/admin`);
    const activity = section('Källsystemens aktivitet');
    const registered = activity.locator('tbody tr', { has: page.locator('code', { hasText: TEST_SOURCE_SYSTEM }) });
    const cells = await registered.locator('td').allInnerTexts();
    // Miljö, Läge, Mottagna, Ignorerade, Meddelanden, Inget meddelande, Fel hos bokningssystemet, Döda brev, Senast sedd
    expect(cells[0]).toBe('QA (test)');
    expect(cells[1]).toBe('Aktivt');
    expect(cells[2]).toMatch(/^2 \/ 2/);
    expect(cells[4]).toContain('Bokningsbekräftelse 1');
    expect(cells[6]).toMatch(/^1 \/ 1/);
    expect(cells[7]).toContain('1 väntar');
    const unregistered = activity.locator('tbody tr', { has: page.locator('code', { hasText: UNREGISTERED }) });
    expect((await unregistered.locator('td').allInnerTexts()).slice(1, 4)).toEqual([
      'Inte registrerat',
      '0 / 0',
      '2 / 2',
    ]);
    await activity.scrollIntoViewIfNeeded();
    await shot('statistics');
  }, 90_000);

  it('When an unregistered system is registered from its row, then it is live at once and leaves the list', async () => {
    const list = section('Oregistrerade system som har skickat');
    const row = list.locator('tbody tr', { has: page.locator('code', { hasText: UNREGISTERED }) });
    expect(await row.innerText()).toContain('SE2321000016-VC7');
    expect(await row.innerText()).toContain('SE2321000016-VC8');
    await row.getByPlaceholder('Systemets namn').fill('Webbokning Nya regionen');
    await row.getByRole('combobox').selectOption('silent');
    await shot('unregistered');
    await row.getByRole('button', { name: 'Registrera' }).click();
    await page.waitForURL(/klart=tillagt/);
    expect(t.app.directory.modeOf(UNREGISTERED)).toBe('silent');
    expect(await section('Oregistrerade system som har skickat').innerText()).toContain('Inga oregistrerade system');
    expect(await section('Aktiva registreringar').innerText()).toContain('Webbokning Nya regionen');
  }, 60_000);

  it('When the dead letters of a source system are retried, then they are processed again and the section empties', async () => {
    await page.goto(`${t.url}/admin`);
    const dead = section('Döda brev');
    expect(await dead.locator('tbody tr').count()).toBe(1);
    const text = await dead.innerText();
    expect(text).toContain('WEB-BAD');
    expect(text).toContain(UNIT);
    expect(text).not.toContain(RESIDENT);
    await dead.scrollIntoViewIfNeeded();
    await shot('dead-letters');
    producer.handle(undefined);
    producer.addBooking(
      UNIT,
      'WEB-BAD',
      sampleTimeslot({
        subjectOfCare: RESIDENT,
        startTimeInclusive: '20270211093000',
        endTimeExclusive: '20270211100000',
      }),
    );
    await dead.getByRole('button', { name: `Försök igen med alla 1 från ${TEST_SOURCE_SYSTEM}` }).click();
    expect(await page.getByRole('status').innerText()).toBe(
      `1 döda brev från ${TEST_SOURCE_SYSTEM} har lagts i kön igen.`,
    );
    await until(pending, (n) => n === 0);
    await page.goto(`${t.url}/admin`);
    expect(await section('Döda brev').innerText()).toContain('Inga döda brev.');
  }, 60_000);

  it('When a booking is traced by source system and booking id, then the page shows the notification, the decision and why, the message and the e-mail', async () => {
    await page.goto(`${t.url}/admin`);
    await page.getByLabel('Källsystem (sourceSystem)').fill(TEST_SOURCE_SYSTEM);
    await page.getByLabel('Boknings-id').fill('WEB-1');
    await page.getByRole('button', { name: 'Spåra' }).click();
    await page.waitForURL(/\/admin\/sparning\?/);
    const table = page.locator('section[aria-label^="Bokning WEB-1"] tbody tr');
    expect(await table.count()).toBe(1);
    const cells = await table.first().locator('td').allInnerTexts();
    expect(cells[1]).toContain('Bokning: ny eller ändrad');
    expect(cells[3]).toBe('Behandlad');
    expect(cells[4]).toContain('Bokningsbekräftelse');
    expect(cells[4]).toContain('Ny bokning: bokningsbekräftelse.');
    expect(cells[6]).toContain('E-post: Skickat');
    expect(await page.locator('main').innerText()).not.toContain(RESIDENT);
    await shot('trace');
  }, 60_000);

  it("When the support role traces by personal identity number with a reason, then the citizen's bookings show and the look-up is audited", async () => {
    await page.getByLabel('Personnummer').fill('19770606-2385');
    await page.getByLabel('Skäl').fill('Ärende 2026-118: ingen bekräftelse');
    await page.getByRole('button', { name: 'Sök och logga' }).click();
    await page.waitForURL(/\/admin\/sparning\/person$/);
    const traced = await page.locator('section[aria-label^="Bokning "]').count();
    expect(traced).toBe(2);
    await shot('trace-by-person');
    const [audit] = await rows<{ actor: string; entity_id: string; after: { reason: string } | string }>(
      t.database.orm,
      sql`select actor, entity_id, after from audit_log where action = 'trace.by_person' order by id desc limit 1`,
    );
    expect(audit).toMatchObject({ actor: 'Stina Support', entity_id: RESIDENT });
    const after = typeof audit!.after === 'string' ? JSON.parse(audit!.after) : audit!.after;
    expect(after.reason).toBe('Ärende 2026-118: ingen bekräftelse');
  }, 60_000);

  it('When a system is deactivated, then the page asks first, and "Avbryt" leaves it live', async () => {
    await page.goto(`${t.url}/admin`);
    const row = section('Aktiva registreringar').locator('tbody tr', {
      has: page.locator('code', { hasText: UNREGISTERED }),
    });
    await row.getByRole('link', { name: 'Avaktivera…' }).click();
    await page.waitForURL(/\/avaktivera$/);
    expect(await page.getByRole('alert').innerText()).toContain('Webbokning Nya regionen');
    await shot('deactivate-confirm');
    await page.getByRole('link', { name: 'Avbryt' }).click();
    await page.waitForURL(`${t.url}/admin`);
    expect(t.app.directory.modeOf(UNREGISTERED)).toBe('silent');
  }, 60_000);
});
