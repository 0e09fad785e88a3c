// The README's demo walkthrough, as a newcomer does it: `npm run demo` on a fresh data folder (a real
// child process, embedded database), then in a real Chromium: the start page, /admin with the
// development sign-in and the "Skicka demoaviseringar" button, and the test person's /inbox, which ends
// up showing a message of each kind. Also `npm run demo:send` against the same service, the e-mail
// notice with the environment's INBOX_URL, and the Swedish 404. Screenshots under test-results/demo/.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { CHROMIUM, chromiumPrerequisites, requireOrSkip } from '../helpers/prerequisites.js';

const SCREENSHOTS = path.resolve('test-results/demo');
const available = requireOrSkip('demo walkthrough', chromiumPrerequisites());

const KIND_LABELS = ['Kallelse', 'Bokningsbekräftelse', 'Avbokning', 'Ombokning', 'Ändrad kallelse'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let dataDir: string;
let port: number;
let base: string;
let env: NodeJS.ProcessEnv;
let service: ChildProcess | undefined;
const serviceLog: string[] = [];
let browser: Browser;
let adminContext: BrowserContext;
let citizenContext: BrowserContext;
let admin: Page;
let citizen: Page;

async function stopService(): Promise<void> {
  const child = service;
  if (!child?.pid) return;
  service = undefined;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // npm, its shell and the service form one process group (started detached): stop them together.
  process.kill(-child.pid, 'SIGTERM');
  await exited;
}

describe.skipIf(!available)('The README demo walkthrough', () => {
  beforeAll(async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ei-demo-'));
    port = await freePort();
    base = `http://localhost:${port}`;
    env = {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      // Short windows so that the cancellations and the e-mail arrive while the test looks.
      REBOOK_WINDOW_SECONDS: '2',
      NOTIFY_DIGEST_SECONDS: '0',
      INBOX_URL: `${base}/inbox`,
      LOG_LEVEL: 'info',
    };
    // Embedded defaults: nothing of the test run's own configuration.
    for (const name of [
      'DATABASE_URL',
      'KAFKA_BROKERS',
      'NTJP_GETBOOKINGDETAILS_URL',
      'DEMO',
      'DEV_LOGIN',
      'APP_ENVIRONMENT',
      'AUTH_JWT_SECRET',
      'AUTH_JWKS_URL',
      'OIDC_ISSUER',
      'ROLES',
      'SMTP_URL',
      'TWILIO_ACCOUNT_SID',
    ]) {
      delete env[name];
    }
    env.NODE_ENV = 'development';
    service = spawn('npm', ['run', '--silent', 'demo'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [service.stdout!, service.stderr!])
      stream.on('data', (chunk: Buffer) => serviceLog.push(...chunk.toString().split('\n').filter(Boolean)));
    let ready = false;
    // Generous bounds: on a loaded machine tsx's first start can take long; these only bound a failure.
    for (let tries = 0; tries < 1800 && !ready; tries++) {
      ready = await fetch(`${base}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (!ready) await sleep(100);
    }
    if (!ready) throw new Error(`npm run demo did not become ready:\n${serviceLog.slice(-20).join('\n')}`);

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
    // The administrator and the test person each have their own browser session.
    adminContext = await browser.newContext({ locale: 'sv-SE', viewport: { width: 1100, height: 900 } });
    citizenContext = await browser.newContext({ locale: 'sv-SE', viewport: { width: 1000, height: 900 } });
    admin = await adminContext.newPage();
    citizen = await citizenContext.newPage();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stopService();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('When the newcomer opens the start page, then it is Swedish, says the demo is running and leads to /admin and /inbox', async () => {
    await admin.goto(`${base}/`);
    await expect(admin.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('1177 Inkorgen');
    await expect(admin.getByRole('heading', { name: 'Demonstrationsläge' }).isVisible()).resolves.toBe(true);
    await admin.screenshot({ path: path.join(SCREENSHOTS, '1-start.png'), fullPage: true });
    const missing = await admin.goto(`${base}/nagot-som-inte-finns`);
    expect(missing?.status()).toBe(404);
    await expect(admin.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Sidan finns inte');
    await admin.goto(`${base}/`);
    await admin.getByRole('link', { name: 'Till administrationen' }).click();
    await admin.waitForURL(`${base}/admin/logga-in`);
  });

  it('When the test person signs in to /inbox and turns on e-mail, then the inbox is empty', async () => {
    await citizen.goto(`${base}/`);
    await citizen.getByRole('link', { name: 'Till inkorgen' }).click();
    await citizen.waitForURL(`${base}/inbox/logga-in`);
    await citizen.getByLabel('Personnummer').fill('19121212-1212');
    await citizen.keyboard.press('Enter');
    await citizen.waitForURL(`${base}/inbox`);
    await expect(citizen.locator('ul.messages li').count()).resolves.toBe(0);
    // The notification settings are their own page, "Aviseringar" (the name the e-mail uses too).
    await citizen.getByRole('link', { name: 'Aviseringar' }).first().click();
    await citizen.waitForURL(`${base}/inbox/installningar`);
    await citizen.getByLabel('Meddela mig med e-post').check();
    await citizen.getByLabel('E-postadress').fill('testperson@example.se');
    await citizen.getByRole('button', { name: 'Spara aviseringar' }).click();
    await expect(citizen.getByText('Dina aviseringsinställningar är sparade.').isVisible()).resolves.toBe(true);
  });

  it('When the administrator presses "Skicka demoaviseringar" on /admin, then the page says they are sent', async () => {
    await admin.getByLabel('Ditt namn (syns i ändringsloggen)').fill('Nyfiken Nykomling');
    await admin.keyboard.press('Enter');
    await admin.waitForURL(`${base}/admin`);
    await expect(admin.getByRole('heading', { name: 'Demonstration (endast utveckling)' }).isVisible()).resolves.toBe(
      true,
    );
    // The demo source system was registered at start.
    await expect(admin.getByRole('cell', { name: 'SE0000000000-DEMOPAS', exact: true }).isVisible()).resolves.toBe(
      true,
    );
    // The run answers once the worker has processed its calls: give a loaded machine time.
    await admin.getByRole('button', { name: 'Skicka demoaviseringar' }).click({ noWaitAfter: true });
    await admin.getByText('Demoaviseringarna är skickade').waitFor({ timeout: 150_000 });
    await expect(
      admin.getByText('Demoaviseringarna är skickade (27 transaktioner i 6 anrop).').isVisible(),
    ).resolves.toBe(true);
    await admin.screenshot({ path: path.join(SCREENSHOTS, '2-admin-sent.png'), fullPage: true });
  }, 180_000);

  it('When the test person opens /inbox, then it shows a message of each kind, the cancellations once the rebooking window has passed', async () => {
    let kinds: string[] = [];
    for (let tries = 0; tries < 100; tries++) {
      await citizen.goto(`${base}/inbox`);
      kinds = (await citizen.locator('ul.messages li .meta').allTextContents()).map((meta) =>
        meta.split(' · ')[0]!.trim(),
      );
      if (KIND_LABELS.every((label) => kinds.includes(label)) && kinds.length >= 20) break;
      await sleep(300);
    }
    for (const label of KIND_LABELS) expect(kinds, label).toContain(label);
    expect(kinds).toHaveLength(20);
    await expect(citizen.getByText('Du har 20 olästa meddelanden.').isVisible()).resolves.toBe(true);
    await citizen.screenshot({ path: path.join(SCREENSHOTS, '3-inbox.png'), fullPage: true });

    // A rebooking shows the old and the new time.
    await citizen
      .getByRole('link', { name: /Ombokad tid/ })
      .first()
      .click();
    await expect(citizen.getByRole('heading', { level: 1 }).textContent()).resolves.toMatch(/^Ombokad tid/);
    await citizen.screenshot({ path: path.join(SCREENSHOTS, '4-rebooking.png'), fullPage: true });
  }, 90_000);

  it("When the e-mail notice is written to the outbox, then its link is the environment's INBOX_URL and it names no person", async () => {
    const outbox = path.join(dataDir, 'outbox');
    let files: string[] = [];
    for (let tries = 0; tries < 100 && files.length === 0; tries++) {
      files = fs.existsSync(outbox) ? fs.readdirSync(outbox).filter((name) => name.startsWith('email-')) : [];
      if (files.length === 0) await sleep(200);
    }
    expect(files.length).toBeGreaterThan(0);
    const mail = fs.readFileSync(path.join(outbox, files[0]!), 'utf8');
    expect(mail).toContain(`${base}/inbox`);
    expect(mail).not.toContain('https://www.1177.se/inkorg');
    expect(mail).not.toMatch(/19121212|Vårdcentralen|Demokliniken/);
  }, 60_000);

  it('When `npm run demo:send` is run after the window, then it sends the sample notifications again and says where to read them', async () => {
    // Right after a run its deletes are held (2 s window, plus a margin): the command says to wait.
    let result: { stdout: string; stderr: string } | undefined;
    for (let tries = 0; tries < 40 && !result; tries++) {
      result = await promisify(execFile)('npm', ['run', '--silent', 'demo:send'], { env }).catch(
        (error: { code?: number; stderr?: string }) => {
          expect(error.code).toBe(4);
          expect(error.stderr).toContain('rebooking window');
          return undefined;
        },
      );
      if (!result) await sleep(500);
    }
    expect(result?.stdout).toContain('Sent 27 sample notifications in 6 calls.');
    expect(result?.stdout).toContain(`${base}/inbox`);
  }, 90_000);
});
