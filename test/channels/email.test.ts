// E-mail with nodemailer against a real SMTP server (smtp-server) started here: what arrives, an SMTP
// server down and then up, and a refused mailbox.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { outboxSms } from '../../src/channels/providers/outbox.js';
import { smtpEmail } from '../../src/channels/providers/smtp.js';
import { releaseDeadSenders, startChannelSender } from '../../src/channels/sender/index.js';
import { rows } from '../../src/db/database.js';
import { startLiveness } from '../../src/queue/liveness.js';
import { loadNotificationTexts } from '../../src/channels/texts.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';
import {
  CARE_TYPE,
  CARE_UNIT_HSA_ID,
  CARE_UNIT_NAME,
  capturedLogger,
  deliveries,
  enableChannels,
  insertMessage,
  manualClock,
  startSmtpServer,
  temporaryDirectory,
} from './helpers.js';
import { freePort } from '../helpers/net.js';

const FROM = '1177 Inkorgen <no-reply@1177.se>';
const MINUTE = 60_000;
let database: TestDatabase;

beforeAll(async () => {
  database = await openTestDatabase();
});

afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  await database.orm.execute(sql`delete from notification_delivery_message`);
  await database.orm.execute(sql`delete from notification_delivery`);
  await database.orm.execute(sql`update notification_request set planned_at = now() where planned_at is null`);
});

function sender(smtpPort: number, clock: { now: () => Date }) {
  return senderAs(smtpPort, clock, undefined);
}

function senderAs(smtpPort: number, clock: { now: () => Date }, workerId: string | undefined) {
  const { log, lines } = capturedLogger();
  const email = smtpEmail({ url: `smtp://127.0.0.1:${smtpPort}`, from: FROM, timeoutMs: 3_000 });
  const instance = startChannelSender({
    database,
    log,
    sms: outboxSms({ dataDir: temporaryDirectory(), log }),
    email,
    texts: loadNotificationTexts(),
    digestSeconds: 60,
    quietHours: { from: 21, to: 8 },
    smsDailyCap: 5,
    now: clock.now,
    pollMs: 0,
    backoffMs: () => 30_000,
    ...(workerId ? { workerId } : {}),
  });
  return {
    sender: instance,
    lines,
    async stop() {
      await instance.stop();
      email.close?.();
    },
  };
}

describe('e-mail through SMTP', () => {
  it('When a citizen with e-mail gets a message, then one generic e-mail arrives with text and HTML and no health information', async () => {
    const smtp = await startSmtpServer();
    const clock = manualClock('2026-03-03T21:30:00Z'); // 22:30: e-mail has no quiet hours
    const resident = '199001019802';
    await enableChannels(database, resident, { email: 'Anna.Svensson@Example.se' });
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    const s = sender(smtp.port, clock);
    try {
      expect((await s.sender.runOnce()).sent).toBe(1);
      expect(smtp.received).toHaveLength(1);
      const [mail] = smtp.received;
      expect(mail!.envelopeTo).toEqual(['Anna.Svensson@example.se']);
      expect(mail!.envelopeFrom).toBe('no-reply@1177.se');
      expect(mail!.parsed.from?.value[0]).toEqual({ address: 'no-reply@1177.se', name: '1177 Inkorgen' });
      expect(mail!.parsed.to && !Array.isArray(mail!.parsed.to) ? mail!.parsed.to.value[0]?.address : undefined).toBe(
        'Anna.Svensson@example.se',
      );
      expect(mail!.parsed.subject).toBe('Nytt meddelande i din inkorg på 1177');
      expect(mail!.parsed.text).toContain('Du har fått ett nytt meddelande i din inkorg på 1177.');
      expect(mail!.parsed.html).toContain('<p>Du har fått ett nytt meddelande i din inkorg på 1177.</p>');
      expect(mail!.parsed.html).toContain('href="https://www.1177.se/inkorg"');
      expect(mail!.parsed.messageId).toMatch(/^<notification-\d+-[0-9a-z]+@1177\.se>$/);
      expect(mail!.parsed.headers.get('auto-submitted')).toBe('auto-generated');
      for (const secret of [CARE_UNIT_NAME, CARE_UNIT_HSA_ID, CARE_TYPE, resident, '14:30', 'mars']) {
        expect(mail!.raw).not.toContain(secret);
      }
      const [delivery] = await deliveries(database);
      expect(delivery).toMatchObject({ channel: 'email', status: 'sent', attempts: 1 });
      expect(delivery!.provider_id).toBe(mail!.parsed.messageId);
      expect(JSON.stringify(s.lines)).not.toMatch(/svensson|example\.se/i);
    } finally {
      await s.stop();
      await smtp.close();
    }
  });

  it('When the SMTP server is down and then up, then the e-mail is delivered once', async () => {
    const port = await freePort();
    const clock = manualClock('2026-03-03T10:00:00Z');
    const resident = '199001029801';
    await enableChannels(database, resident, { email: 'bertil@example.se' });
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    const s = sender(port, clock);
    let smtp: Awaited<ReturnType<typeof startSmtpServer>> | undefined;
    try {
      expect((await s.sender.runOnce()).retried).toBe(1);
      expect((await deliveries(database))[0]).toMatchObject({ status: 'pending', attempts: 1, last_error: 'network' });

      smtp = await startSmtpServer(port);
      await s.sender.runOnce(); // the backoff has not passed
      expect(smtp.received).toHaveLength(0);

      clock.advance(30_000);
      expect((await s.sender.runOnce()).sent).toBe(1);
      clock.advance(60 * MINUTE);
      await s.sender.runOnce();
      expect(smtp.received).toHaveLength(1);
      expect(smtp.received[0]!.envelopeTo).toEqual(['bertil@example.se']);
      expect((await deliveries(database))[0]).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
    } finally {
      await s.stop();
      await smtp?.close();
    }
  });

  it('When the SMTP server answers 451, then it is retried; when it refuses the mailbox (550), the delivery fails for good', async () => {
    let answer = 451;
    const smtp = await startSmtpServer(0, {
      onRcptTo(_address, _session, callback) {
        const error = Object.assign(new Error(answer === 451 ? 'Try again later' : 'No such mailbox'), {
          responseCode: answer,
        });
        callback(error);
      },
    });
    const clock = manualClock('2026-03-03T10:00:00Z');
    const resident = '199001039800';
    await enableChannels(database, resident, { email: 'finns.inte@example.se' });
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    const s = sender(smtp.port, clock);
    try {
      expect((await s.sender.runOnce()).retried).toBe(1);
      expect((await deliveries(database))[0]).toMatchObject({ status: 'pending', last_error: 'smtp_451' });
      answer = 550;
      clock.advance(30_000);
      expect((await s.sender.runOnce()).failed).toBe(1);
      clock.advance(24 * 60 * MINUTE);
      await s.sender.runOnce();
      expect(smtp.received).toHaveLength(0);
      expect((await deliveries(database))[0]).toMatchObject({ status: 'failed', attempts: 2, last_error: 'smtp_550' });
    } finally {
      await s.stop();
      await smtp.close();
    }
  });
  it('When a sender dies while the SMTP server takes the e-mail, then it is sent again with the same Message-ID', async () => {
    const held: Array<() => void> = [];
    let holdFirst = true;
    const smtp = await startSmtpServer(0, {
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          mails.push(Buffer.concat(chunks).toString('utf8'));
          // The first e-mail is taken but never answered: its sender "dies" waiting for the 250.
          if (holdFirst) {
            holdFirst = false;
            held.push(() => callback());
          } else callback();
        });
      },
    });
    const mails: string[] = [];
    const clock = manualClock('2026-03-03T10:00:00Z');
    const resident = '199001029803';
    await enableChannels(database, resident, { email: 'doris@example.se' });
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    const first = senderAs(smtp.port, clock, 'deadhost:1:aaaaaa/sender');
    const second = senderAs(smtp.port, clock, 'livehost:2:bbbbbb/sender');
    const liveness = await startLiveness({
      database,
      processId: 'livehost:2:bbbbbb',
      roles: ['sender'],
      log: capturedLogger().log,
      heartbeatMs: 60_000,
      deadAfterMs: 1_000,
      releasers: [releaseDeadSenders],
    });
    try {
      void first.sender.runOnce();
      await expect.poll(() => mails.length, { timeout: 5_000 }).toBe(1);
      expect((await deliveries(database))[0]).toMatchObject({ status: 'sending', attempts: 1 });
      // The dead process's last heartbeat is older than the limit: the live one releases its delivery.
      await database.orm.execute(
        sql`insert into lease_holder (process_id, roles, heartbeat_at) values ('deadhost:1:aaaaaa', 'sender', now() - interval '10 seconds')`,
      );
      await liveness.beat();
      expect((await deliveries(database))[0]).toMatchObject({ status: 'in_doubt', last_error: 'sender_stopped' });

      expect(await second.sender.runOnce()).toMatchObject({ settled: 1, sent: 1 });
      expect(mails).toHaveLength(2);
      const ids = mails.map((mail) => /^Message-ID: (.+)$/im.exec(mail)?.[1]?.trim());
      expect(ids[0]).toMatch(/^<notification-[0-9]+-[0-9a-z]+@1177\.se>$/);
      expect(ids[1]).toBe(ids[0]);
      const [row] = await rows<{ status: string; doubt_settled_by: string; attempts: number }>(
        database.orm,
        sql`select status, doubt_settled_by, attempts from notification_delivery`,
      );
      expect(row).toEqual({ status: 'sent', doubt_settled_by: 'resent', attempts: 2 });
    } finally {
      for (const release of held) release();
      await liveness.stop();
      await second.stop();
      await first.stop();
      await smtp.close();
    }
  });
});
