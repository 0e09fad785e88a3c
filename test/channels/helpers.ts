// Test fixtures of the channels: inbox messages as the engine stores them (with everything that must
// never reach an SMS or e-mail), a clock to move by hand, a local server playing Twilio's Messages API,
// and a real SMTP server.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { simpleParser, type ParsedMail } from 'mailparser';
import { sql } from 'drizzle-orm';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { saveCitizenSettings } from '../../src/channels/settings.js';
import { rows, type Database } from '../../src/db/database.js';
import { createLogger, type Logger } from '../../src/logging.js';

export const CARE_UNIT_NAME = 'Beroendemottagningen Sahlgrenska';
export const CARE_UNIT_HSA_ID = 'SE2321000131-E000000000123';
export const CARE_TYPE = 'Abortrådgivning';

let messageCounter = 0;

/** An inbox message and its notification request, as the message engine writes them in one transaction. */
export async function insertMessage(database: Database, resident: string, at: Date): Promise<number> {
  messageCounter++;
  const [row] = await rows<{ id: number }>(
    database.orm,
    sql`insert into inbox_message (resident, kind, subject, body, care_unit_hsa_id, care_unit_name, booking, key_hash, cause, created_at)
        values (${resident}, 'booking_confirmation', ${`Bokningsbekräftelse: ${CARE_TYPE}`},
                ${`Du har en bokad tid hos ${CARE_UNIT_NAME}, tisdag 3 mars 2026 kl. 14:30. Besöket gäller ${CARE_TYPE}. Personnummer ${resident}.`},
                ${CARE_UNIT_HSA_ID}, ${CARE_UNIT_NAME},
                ${JSON.stringify({ start: '2026-03-03T13:30:00Z', careType: CARE_TYPE })}::jsonb,
                ${`key-${messageCounter}`}, ${`test:${process.pid}:${messageCounter}:${Math.random()}`}, ${at.toISOString()}::timestamptz)
        returning id`,
  );
  const id = Number(row!.id);
  await database.orm.execute(
    sql`insert into notification_request (resident, message_id, created_at) values (${resident}, ${id}, ${at.toISOString()}::timestamptz)`,
  );
  return id;
}

export async function enableChannels(
  database: Database,
  resident: string,
  channels: { phone?: string; email?: string },
): Promise<void> {
  await saveCitizenSettings(database, resident, {
    sms: { enabled: channels.phone !== undefined, phone: channels.phone ?? null },
    email: { enabled: channels.email !== undefined, address: channels.email ?? null },
  });
}

export interface DeliveryRow {
  id: number;
  resident: string;
  channel: string;
  status: string;
  attempts: number;
  provider_id: string | null;
  last_error: string | null;
  not_before: Date;
  messages: number;
}

export async function deliveries(database: Database): Promise<DeliveryRow[]> {
  const found = await rows<DeliveryRow>(
    database.orm,
    sql`select d.id, d.resident, d.channel, d.status, d.attempts, d.provider_id, d.last_error,
               floor(extract(epoch from d.not_before) * 1000)::bigint as not_before,
               (select count(*) from notification_delivery_message m where m.delivery_id = d.id) as messages
          from notification_delivery d order by d.id`,
  );
  return found.map((d) => ({
    ...d,
    id: Number(d.id),
    attempts: Number(d.attempts),
    messages: Number(d.messages),
    not_before: new Date(Number(d.not_before)),
  }));
}

/** A clock the test moves by hand. */
export function manualClock(start: string): { now: () => Date; set(iso: string): void; advance(ms: number): void } {
  let current = new Date(start);
  return {
    now: () => new Date(current),
    set(iso) {
      current = new Date(iso);
    },
    advance(ms) {
      current = new Date(current.getTime() + ms);
    },
  };
}

/** A logger whose lines the test can read. */
export function capturedLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

export function temporaryDirectory(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ei-channels-'));
}

export interface TwilioRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  form: URLSearchParams;
}

/** A message as the fake Twilio keeps it (the fields of Twilio's Message resource that we read). */
export interface FakeTwilioMessage {
  sid: string;
  account_sid: string;
  to: string | null;
  from: string | null;
  messaging_service_sid: string | null;
  body: string | null;
  status: string;
  direction: string;
  date_created: string;
  date_sent: string | null;
  /** Not Twilio's: the StatusCallback URL the request carried (holds our delivery reference). */
  statusCallback: string | null;
}

export interface FakeTwilio {
  url: string;
  requests: TwilioRequest[];
  /** Answers for the next calls, whatever they are (default: Twilio's behaviour). */
  script: Array<{ status: number; body: object }>;
  /** Every message created, in order: what Twilio would have sent. */
  messages: FakeTwilioMessage[];
  /** Milliseconds to hold each answer to a create after the message is recorded (a slow Twilio). */
  answerDelayMs: number;
  /**
   * Every second create instead waits this long before it is recorded (a request still in transit), and
   * is not recorded at all if the client went away meanwhile (it never reached Twilio).
   */
  transitDelayMs: number;
  close(): Promise<void>;
}

/**
 * A local HTTP server playing Twilio's Messages API for the real SDK: create (POST Messages.json) and
 * list (GET Messages.json, filtered by To and From, newest first, one page). `script` answers the next
 * calls instead (any method).
 */
export async function startFakeTwilio(): Promise<FakeTwilio> {
  const requests: TwilioRequest[] = [];
  const script: Array<{ status: number; body: object }> = [];
  const messages: FakeTwilioMessage[] = [];
  let counter = 0;
  let creates = 0;
  const fake = { answerDelayMs: 0, transitDelayMs: 0 };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(raw);
      requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, form });
      const scripted = script.shift();
      const url = new URL(req.url ?? '/', 'http://fake-twilio');
      const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(url.pathname);
      res.setHeader('content-type', 'application/json');
      if (scripted) {
        res.statusCode = scripted.status;
        res.end(JSON.stringify(scripted.body));
        return;
      }
      if (req.method === 'GET' && match) {
        const to = url.searchParams.get('To');
        const from = url.searchParams.get('From');
        const pageSize = Math.min(1000, Number(url.searchParams.get('PageSize') ?? 50));
        const found = messages
          .filter(
            (m) => m.account_sid === match[1] && (to === null || m.to === to) && (from === null || m.from === from),
          )
          .reverse()
          .slice(0, pageSize);
        res.statusCode = 200;
        res.end(
          JSON.stringify({
            messages: found,
            page: 0,
            page_size: pageSize,
            start: 0,
            end: found.length,
            uri: req.url,
            first_page_uri: req.url,
            next_page_uri: null,
            previous_page_uri: null,
          }),
        );
        return;
      }
      if (req.method !== 'POST' || !match) {
        res.statusCode = 404;
        res.end(JSON.stringify({ code: 20404, message: 'The requested resource was not found', status: 404 }));
        return;
      }
      const accountSid = match[1]!;
      const create = () => {
        counter++;
        const messagingService = form.get('MessagingServiceSid');
        const message: FakeTwilioMessage = {
          sid: `SM${String(counter).padStart(32, '0')}`,
          account_sid: accountSid,
          to: form.get('To'),
          from: form.get('From') ?? (messagingService ? '+46700000001' : null),
          messaging_service_sid: messagingService,
          body: form.get('Body'),
          status: 'queued',
          direction: 'outbound-api',
          date_created: new Date().toUTCString(),
          date_sent: null,
          statusCallback: form.get('StatusCallback'),
        };
        messages.push(message);
        const answer = () => {
          res.statusCode = 201;
          res.end(JSON.stringify({ ...message, num_segments: '1', api_version: '2010-04-01' }));
        };
        if (fake.answerDelayMs > 0) setTimeout(answer, fake.answerDelayMs);
        else answer();
      };
      creates++;
      if (fake.transitDelayMs > 0 && creates % 2 === 0) {
        let gone = false;
        req.socket.once('close', () => (gone = true));
        setTimeout(() => {
          if (!gone) create();
        }, fake.transitDelayMs);
        return;
      }
      create();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script,
    messages,
    get answerDelayMs() {
      return fake.answerDelayMs;
    },
    set answerDelayMs(value: number) {
      fake.answerDelayMs = value;
    },
    get transitDelayMs() {
      return fake.transitDelayMs;
    },
    set transitDelayMs(value: number) {
      fake.transitDelayMs = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ReceivedMail {
  envelopeFrom: string;
  envelopeTo: string[];
  parsed: ParsedMail;
  raw: string;
}

/** A real SMTP server (smtp-server) on `port` (0: any free one), keeping what it receives. */
export async function startSmtpServer(
  port = 0,
  options: Partial<SMTPServerOptions> = {},
): Promise<{ port: number; received: ReceivedMail[]; close(): Promise<void> }> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw)
          .then((parsed) => {
            received.push({
              envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              parsed,
              raw,
            });
            callback();
          })
          .catch(callback);
      });
    },
    ...options,
  });
  // A client killed mid-session (the crash tests SIGKILL senders) resets its connection; the server emits
  // that as 'error', which without a listener would be an uncaught exception in the test process.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.server.address() as AddressInfo;
  return {
    port: address.port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
