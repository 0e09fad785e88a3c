// ProcessNotification over real HTTP to the running app, asserting the SOAP answer and the stored rows.
import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { purgeIngestRecords } from '../../src/process-notifications/index.js';
import { ingestPosts } from '../../src/process-notifications/schema.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import {
  engagement,
  notificationEnvelope,
  postNotification,
  TEST_SOURCE_SYSTEM,
  transactionXml,
} from '../helpers/soap.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
  await t.activate(TEST_SOURCE_SYSTEM);
});
afterAll(async () => t?.close());

interface QueuedRow {
  call_id: number;
  position: number;
  resident: string;
  delete_flag: boolean;
  engagement: Record<string, string>;
}

async function queued(): Promise<QueuedRow[]> {
  return rows<QueuedRow>(
    t.database.orm,
    sql`select call_id::int, position, resident, delete_flag, engagement from inbound_notification order by id`,
  );
}

async function count(table: string): Promise<number> {
  const [row] = await rows<{ n: number }>(t.database.orm, sql`select count(*)::int as n from ${sql.identifier(table)}`);
  return Number(row!.n);
}

/** Runs `action` and tells how many rows each table gained. */
async function gained(action: () => Promise<unknown>): Promise<Record<string, number>> {
  const tables = ['notification_call', 'inbound_notification', 'rejected_transaction', 'ingest_post'];
  const before = await Promise.all(tables.map(count));
  await action();
  const after = await Promise.all(tables.map(count));
  return Object.fromEntries(tables.map((name, i) => [name, after[i]! - before[i]!]));
}

let unique = 0;
function booking(overrides: Parameters<typeof engagement>[0] = {}) {
  unique++;
  return engagement({ businessObjectInstanceIdentifier: `BOK-${unique}`, ...overrides });
}

describe('ProcessNotification endpoint', () => {
  it('When the WSDL is asked for, then the complete official contract is served and every schema it imports resolves from its ?xsd= URL', async () => {
    const wsdlUrl = `${t.url}/ProcessNotification/1/rivtabp21?wsdl`;
    const wsdl = await (await fetch(wsdlUrl)).text();
    expect(wsdl).toMatch(/<wsdl:part name="LogicalAddress" element="itr:LogicalAddress">/);
    expect(wsdl).toContain(
      '<soap:header use="literal" message="tns:ProcessNotificationRequest" part="LogicalAddress"/>',
    );
    expect(wsdl).toContain(`<soap:address location="${t.url}/ProcessNotification/1/rivtabp21"`);
    // Follow every import, from the WSDL through the schemas, as a SOAP toolkit does.
    const served = new Map<string, string>();
    const pending = [...wsdl.matchAll(/schemaLocation="([^"]+)"/g)].map((m) => m[1]!);
    while (pending.length > 0) {
      const location = pending.shift()!;
      expect(location.startsWith(`${t.url}/ProcessNotification/1/rivtabp21?xsd=`), location).toBe(true);
      if (served.has(location)) continue;
      const schema = await fetch(location);
      expect(schema.status, location).toBe(200);
      const text = await schema.text();
      expect(text).toContain('<xs:schema');
      served.set(location, text);
      pending.push(...[...text.matchAll(/schemaLocation="([^"]+)"/g)].map((m) => m[1]!));
    }
    expect([...served.keys()].map((location) => new URL(location).searchParams.get('xsd')).sort()).toEqual([
      'ProcessNotificationResponder_1.0.xsd',
      'itintegration_engagementindex_1.0.xsd',
      'itintegration_registry_1.0.xsd',
    ]);
    // The official names: code written against the RIVTA contract compiles against what is served.
    const all = [...served.values()].join('\n');
    for (const name of [
      'ProcessNotificationType',
      'ProcessNotificationResponseType',
      'EngagementTransactionType',
      'EngagementType',
      'ResultCodeEnum',
    ]) {
      expect(all).toContain(
        `<xs:complexType name="${name}">`.replace(
          'complexType name="ResultCodeEnum"',
          'simpleType name="ResultCodeEnum"',
        ),
      );
    }
    expect(all).toContain('<xs:element name="LogicalAddress" type="LogicalAddressType"/>');
    expect(all).toContain('<xs:element name="ServiceContract" type="ServiceContractType"/>');
    expect((await fetch(`${t.url}/ProcessNotification/1/rivtabp21?xsd=../package.json`)).status).toBe(404);
  });

  it('When an active system notifies a new booking (fixture), then it is queued durably and the answer is OK with counts', async () => {
    const body = fs.readFileSync(new URL('../fixtures/process-notification-booking.xml', import.meta.url), 'utf8');
    let answer;
    const delta = await gained(async () => {
      answer = await postNotification(t.url, body);
    });
    expect(answer).toMatchObject({
      status: 200,
      resultCode: 'OK',
      comment: 'accepted 1 (already received 0), ignored 0, rejected 0',
    });
    expect(answer!.contentType).toMatch(/^text\/xml/);
    expect(delta).toEqual({ notification_call: 1, inbound_notification: 1, rejected_transaction: 0, ingest_post: 1 });
    const last = (await queued()).at(-1)!;
    expect(last).toMatchObject({ position: 1, resident: '191212121212', delete_flag: false });
    expect(last.engagement).toMatchObject({
      categorization: 'Booking',
      logicalAddress: 'SE1623210002-VC7',
      businessObjectInstanceIdentifier: 'BOK-2026-0042',
      sourceSystem: TEST_SOURCE_SYSTEM,
      owner: 'SE1623210002-EI',
      updateTime: '20261122093000',
    });
  });

  it('When a call uses default namespaces, CDATA and extension elements (fixture), then both transactions are accepted in order', async () => {
    const body = fs.readFileSync(new URL('../fixtures/process-notification-mixed.xml', import.meta.url), 'utf8');
    const answer = await postNotification(t.url, body, { SOAPAction: '' });
    expect(answer).toMatchObject({ status: 200, resultCode: 'OK' });
    const [first, second] = (await queued()).slice(-2);
    expect(first).toMatchObject({ position: 1, delete_flag: true });
    expect(first!.engagement.businessObjectInstanceIdentifier).toBe('KAL-77');
    expect(first!.engagement).not.toHaveProperty('note');
    expect(second).toMatchObject({ position: 2, delete_flag: false });
  });

  it('When the LogicalAddress is not this service, then the whole call is refused with soap:Client and nothing is stored', async () => {
    const delta = await gained(async () => {
      const answer = await postNotification(t.url, notificationEnvelope([booking()], 'SE-SOMEONE-ELSE'));
      expect(answer).toMatchObject({ status: 500, faultcode: 'soap:Client' });
      expect(answer.envelopeNamespace).toBe('http://schemas.xmlsoap.org/soap/envelope/');
      expect(answer.faultstring).toContain('SE-SOMEONE-ELSE');
    });
    expect(delta).toEqual({ notification_call: 0, inbound_notification: 0, rejected_transaction: 0, ingest_post: 0 });
  });

  it('When the LogicalAddress header is missing, then the call is refused with soap:Client', async () => {
    const answer = await postNotification(t.url, notificationEnvelope([booking()], null));
    expect(answer).toMatchObject({
      status: 500,
      faultcode: 'soap:Client',
      faultstring: 'The LogicalAddress header is missing',
    });
  });

  it('When the body holds no transaction, then the call is refused with soap:Client', async () => {
    const answer = await postNotification(t.url, notificationEnvelope([]));
    expect(answer).toMatchObject({ status: 500, faultcode: 'soap:Client' });
    expect(answer.faultstring).toContain('no engagementTransaction');
  });

  it('When the body is another operation, then the call is refused with soap:Client', async () => {
    const body = notificationEnvelope([booking()]).replaceAll('pn:ProcessNotification>', 'pn:Update>');
    const answer = await postNotification(t.url, body);
    expect(answer).toMatchObject({ status: 500, faultcode: 'soap:Client' });
    expect(answer.faultstring).toContain('Not a ProcessNotification request');
  });

  it('When transactions are of another service domain, an unknown system or another category, then they are counted as ignored', async () => {
    let answer;
    const delta = await gained(async () => {
      answer = await postNotification(
        t.url,
        notificationEnvelope([
          booking({ serviceDomain: 'riv:clinicalprocess:activity:request' }),
          booking({ sourceSystem: 'SE-NOT-REGISTERED' }),
          booking({ categorization: 'Referral' }),
          booking(),
        ]),
      );
    });
    expect(answer).toMatchObject({
      resultCode: 'OK',
      comment: 'accepted 1 (already received 0), ignored 3, rejected 0',
    });
    expect(delta.inbound_notification).toBe(1);
  });

  it('When a system is registered only in prod, then its posts are ignored in qa', async () => {
    await t.activate('SE-PROD-ONLY', 'active', 'prod');
    const answer = await postNotification(t.url, notificationEnvelope([booking({ sourceSystem: 'SE-PROD-ONLY' })]));
    expect(answer).toMatchObject({
      resultCode: 'OK',
      comment: 'accepted 0 (already received 0), ignored 1, rejected 0',
    });
  });

  it('When a system is silent, then its posts are still accepted and stored (the engine stays quiet)', async () => {
    await t.activate('SE-SILENT-LOAD', 'silent');
    const answer = await postNotification(t.url, notificationEnvelope([booking({ sourceSystem: 'SE-SILENT-LOAD' })]));
    expect(answer).toMatchObject({
      resultCode: 'OK',
      comment: 'accepted 1 (already received 0), ignored 0, rejected 0',
    });
  });

  // One row per field rule: each bad transaction is rejected alone, with its reason.
  const badTransactions: [string, string, RegExp][] = [
    ['missing deleteFlag', transactionXml(booking({ deleteFlag: undefined })), /deleteFlag is missing/],
    ['deleteFlag not a boolean', transactionXml(booking({ deleteFlag: 'maybe' })), /deleteFlag must be true or false/],
    [
      'missing engagement',
      '<pn:engagementTransaction><ei:deleteFlag>false</ei:deleteFlag></pn:engagementTransaction>',
      /engagement is missing/,
    ],
    [
      'missing resident',
      transactionXml(booking({ registeredResidentIdentification: undefined })),
      /registeredResidentIdentification is missing/,
    ],
    [
      'badly formed resident',
      transactionXml(booking({ registeredResidentIdentification: '19121212-1212' })),
      /registeredResidentIdentification must be 12/,
    ],
    [
      'resident over 32',
      transactionXml(booking({ registeredResidentIdentification: '1'.repeat(33) })),
      /longer than 32/,
    ],
    ['empty logicalAddress', transactionXml(booking({ logicalAddress: '' })), /logicalAddress is missing or empty/],
    [
      'logicalAddress over 64',
      transactionXml(booking({ logicalAddress: 'L'.repeat(65) })),
      /logicalAddress is longer than 64/,
    ],
    [
      'sourceSystem over 64',
      transactionXml(booking({ sourceSystem: 'S'.repeat(65) })),
      /sourceSystem is longer than 64/,
    ],
    [
      'dataController over 64',
      transactionXml(booking({ dataController: 'D'.repeat(65) })),
      /dataController is longer than 64/,
    ],
    [
      'serviceDomain over 255',
      transactionXml(booking({ serviceDomain: 'x'.repeat(256) })),
      /serviceDomain is longer than 255/,
    ],
    [
      'categorization over 255',
      transactionXml(booking({ categorization: 'c'.repeat(256) })),
      /categorization is longer than 255/,
    ],
    [
      'businessObjectInstanceIdentifier over 128',
      transactionXml(booking({ businessObjectInstanceIdentifier: 'b'.repeat(129) })),
      /businessObjectInstanceIdentifier is longer than 128/,
    ],
    [
      'clinicalProcessInterestId over 128',
      transactionXml(booking({ clinicalProcessInterestId: 'c'.repeat(129) })),
      /clinicalProcessInterestId is longer than 128/,
    ],
    [
      'missing clinicalProcessInterestId',
      transactionXml(booking({ clinicalProcessInterestId: undefined })),
      /clinicalProcessInterestId is missing/,
    ],
    ['missing dataController', transactionXml(booking({ dataController: undefined })), /dataController is missing/],
    ['time over 14', transactionXml(booking({ updateTime: '202611220930000' })), /updateTime is longer than 14/],
    [
      'time not a date',
      transactionXml(booking({ mostRecentContent: '20260230120000' })),
      /mostRecentContent must be a valid time/,
    ],
    [
      'time with hour 24',
      transactionXml(booking({ creationTime: '20261122240000' })),
      /creationTime must be a valid time/,
    ],
    [
      'unknown element in engagement',
      transactionXml(booking()).replace('</ei:engagement>', '<ei:colour>red</ei:colour></ei:engagement>'),
      /unexpected element colour/,
    ],
    [
      'repeated element',
      transactionXml(booking()).replace(
        '</ei:engagement>',
        '<ei:owner>A</ei:owner><ei:owner>B</ei:owner></ei:engagement>',
      ),
      /owner is given more than once/,
    ],
    [
      'markup inside a value',
      transactionXml(booking()).replace('<ei:categorization>Booking', '<ei:categorization><b>Booking</b>'),
      /categorization must hold text only/,
    ],
  ];

  it.each(badTransactions)(
    'When one transaction has %s, then it alone is rejected with its reason and the others are accepted',
    async (_name, bad, reason) => {
      let answer;
      const delta = await gained(async () => {
        answer = await postNotification(t.url, notificationEnvelope([booking(), bad, booking()]));
      });
      expect(answer).toMatchObject({ status: 200, resultCode: 'ERROR' });
      expect(answer!.comment).toMatch(
        /^accepted 2 \(already received 0\), ignored 0, rejected 1; rejected positions: 2 \(2: /,
      );
      expect(answer!.comment).toMatch(reason);
      expect(delta).toMatchObject({ notification_call: 1, inbound_notification: 2, rejected_transaction: 1 });
      const [rejected] = await rows<{ position: number; reason: string; code: string }>(
        t.database.orm,
        sql`select position, reason, code from rejected_transaction order by id desc limit 1`,
      );
      expect(rejected!.position).toBe(2);
      expect(rejected!.reason).toMatch(reason);
      expect(answer!.comment).not.toContain('191212121212');
    },
  );

  it('When several transactions are rejected, then the comment names every position', async () => {
    const bad = booking({ logicalAddress: '' });
    const answer = await postNotification(t.url, notificationEnvelope([bad, booking(), bad, bad, booking()]));
    expect(answer.resultCode).toBe('ERROR');
    expect(answer.comment).toContain('rejected positions: 1, 3, 4 (');
  });

  it('When the same call is delivered again, then nothing new is queued and the answer says already received', async () => {
    const body = notificationEnvelope([booking(), booking({ deleteFlag: true }), booking()]);
    const first = await postNotification(t.url, body);
    expect(first.comment).toBe('accepted 3 (already received 0), ignored 0, rejected 0');
    const delta = await gained(async () => {
      const again = await postNotification(t.url, body);
      expect(again).toMatchObject({
        resultCode: 'OK',
        comment: 'accepted 3 (already received 3), ignored 0, rejected 0',
      });
    });
    expect(delta).toEqual({ notification_call: 1, inbound_notification: 0, rejected_transaction: 0, ingest_post: 0 });
  });

  it('When the same call arrives twice at once, then its transactions are queued once', async () => {
    const body = notificationEnvelope(Array.from({ length: 50 }, () => booking()));
    const delta = await gained(async () => {
      const answers = await Promise.all([
        postNotification(t.url, body),
        postNotification(t.url, body),
        postNotification(t.url, body),
      ]);
      for (const answer of answers) expect(answer.resultCode).toBe('OK');
    });
    expect(delta.inbound_notification).toBe(50);
  });

  it('When a post is created and deleted, then EI retrying the create inside the redelivery window queues nothing (a retried older call), and after the window it is queued', async () => {
    const post = booking({ businessObjectInstanceIdentifier: 'BOK-RETRY-OLD' });
    const create = notificationEnvelope([post]);
    const remove = notificationEnvelope([{ ...post, deleteFlag: true }]);
    const delta = await gained(async () => {
      for (const body of [create, remove]) {
        expect((await postNotification(t.url, body)).comment).toBe(
          'accepted 1 (already received 0), ignored 0, rejected 0',
        );
      }
      expect((await postNotification(t.url, create)).comment).toBe(
        'accepted 1 (already received 1), ignored 0, rejected 0',
      );
      expect((await postNotification(t.url, remove)).comment).toBe(
        'accepted 1 (already received 1), ignored 0, rejected 0',
      );
    });
    expect(delta.inbound_notification).toBe(2);
    // Ten minutes later (the window, 300 s by default, has passed): the same create is queued, and it is
    // then a redelivery of itself for the next window.
    await t.database.orm.execute(
      sql`update ingest_post set recent = (select jsonb_agg(jsonb_set(e, '{t}', to_jsonb((e->>'t')::float8 - 600))) from jsonb_array_elements(recent) e)`,
    );
    const later = await gained(async () => {
      expect((await postNotification(t.url, create)).comment).toBe(
        'accepted 1 (already received 0), ignored 0, rejected 0',
      );
      expect((await postNotification(t.url, create)).comment).toBe(
        'accepted 1 (already received 1), ignored 0, rejected 0',
      );
    });
    expect(later.inbound_notification).toBe(1);
  });

  it('When a fingerprint is past the redelivery window, then the purge removes it and a re-send is answered and queued exactly as when it is kept', async () => {
    const kept = booking();
    const purged = booking();
    for (const post of [kept, purged]) {
      expect((await postNotification(t.url, notificationEnvelope([post]))).comment).toBe(
        'accepted 1 (already received 0), ignored 0, rejected 0',
      );
    }
    // Two hours later for both posts (past the 300 s window and the purge's hour of margin).
    await t.database.orm.execute(
      sql`update ingest_post set updated_at = updated_at - interval '2 hours',
            recent = (select jsonb_agg(jsonb_set(e, '{t}', to_jsonb((e->>'t')::float8 - 7200))) from jsonb_array_elements(recent) e)`,
    );
    const fingerprintOf = (post: typeof kept) =>
      sql`(select key_hash from inbound_notification
           where engagement->>'businessObjectInstanceIdentifier' = ${post.businessObjectInstanceIdentifier ?? ''} limit 1)`;
    const [keptRow] = await t.database.orm
      .select()
      .from(ingestPosts)
      .where(sql`${ingestPosts.keyHash} = ${fingerprintOf(kept)}`);
    expect(keptRow).toBeDefined();
    const before = await count('ingest_post');
    const rules = {
      callsBefore: new Date(Date.now() - 30 * 86_400_000),
      rejectedBefore: new Date(Date.now() - 30 * 86_400_000),
      fingerprintsBefore: new Date(Date.now() - (300 + 3600) * 1000),
    };
    const report = await purgeIngestRecords(t.database, rules, { sliceSize: 100, maxSlices: 100 });
    expect(report.ingest_post).toBe(before);
    // Only `purged`'s fingerprint stays gone: `kept` gets its row back exactly as it was.
    await t.database.orm.insert(ingestPosts).values(keptRow!);
    const answers: (string | undefined)[] = [];
    const delta = await gained(async () => {
      for (const post of [kept, purged, kept, purged]) {
        answers.push((await postNotification(t.url, notificationEnvelope([post]))).comment);
      }
    });
    expect(answers).toEqual([
      'accepted 1 (already received 0), ignored 0, rejected 0',
      'accepted 1 (already received 0), ignored 0, rejected 0',
      'accepted 1 (already received 1), ignored 0, rejected 0',
      'accepted 1 (already received 1), ignored 0, rejected 0',
    ]);
    expect(delta.inbound_notification).toBe(2);
    expect(delta.ingest_post).toBe(1);
  });

  it('When one call holds create, delete and create of one post, then all three are queued deletes first (as EI applies a call), and its redelivery adds nothing', async () => {
    const post = booking();
    const body = notificationEnvelope([post, { ...post, deleteFlag: true }, post]);
    const delta = await gained(async () => {
      expect((await postNotification(t.url, body)).comment).toBe(
        'accepted 3 (already received 0), ignored 0, rejected 0',
      );
      expect((await postNotification(t.url, body)).comment).toBe(
        'accepted 3 (already received 3), ignored 0, rejected 0',
      );
    });
    expect(delta.inbound_notification).toBe(3);
    const lastThree = (await queued()).slice(-3);
    expect(lastThree.map((row) => [row.position, row.delete_flag])).toEqual([
      [2, true],
      [1, false],
      [3, false],
    ]);
  });

  it('When the source system is silent at delivery, then the notification carries that mode', async () => {
    await t.activate('SE-INGEST-SILENT', 'silent');
    await postNotification(
      t.url,
      notificationEnvelope([
        booking({ sourceSystem: 'SE-INGEST-SILENT', businessObjectInstanceIdentifier: 'BOK-SILENT-MODE' }),
      ]),
    );
    await postNotification(
      t.url,
      notificationEnvelope([booking({ businessObjectInstanceIdentifier: 'BOK-ACTIVE-MODE' })]),
    );
    const found = await rows<{ id: string; delivered_mode: string }>(
      t.database.orm,
      sql`select engagement->>'businessObjectInstanceIdentifier' as id, delivered_mode from inbound_notification
          where engagement->>'businessObjectInstanceIdentifier' in ('BOK-SILENT-MODE', 'BOK-ACTIVE-MODE') order by id`,
    );
    expect(found).toEqual([
      { id: 'BOK-ACTIVE-MODE', delivered_mode: 'active' },
      { id: 'BOK-SILENT-MODE', delivered_mode: 'silent' },
    ]);
  });

  it('When a post changes (new updateTime), then it is queued again', async () => {
    const post = booking({ updateTime: '20261122100000' });
    await postNotification(t.url, notificationEnvelope([post]));
    const answer = await postNotification(t.url, notificationEnvelope([{ ...post, updateTime: '20261122110000' }]));
    expect(answer.comment).toBe('accepted 1 (already received 0), ignored 0, rejected 0');
  });

  it('When a call carries 5000 transactions, then all are accepted and queued', async () => {
    const transactions = Array.from({ length: 5000 }, (_, i) =>
      booking({ registeredResidentIdentification: `1912${String(i).padStart(8, '0')}` }),
    );
    let answer;
    const delta = await gained(async () => {
      answer = await postNotification(t.url, notificationEnvelope(transactions));
    });
    expect(answer).toMatchObject({
      status: 200,
      resultCode: 'OK',
      comment: 'accepted 5000 (already received 0), ignored 0, rejected 0',
    });
    expect(delta.inbound_notification).toBe(5000);
    const positions = (await queued()).slice(-5000).map((row) => row.position);
    expect(positions[0]).toBe(1);
    expect(positions.at(-1)).toBe(5000);
  });

  it('When the platform sends a correlation id, then it is echoed and logged without personal data', async () => {
    const response = await fetch(`${t.url}/ProcessNotification/1/rivtabp21`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml', 'x-skltp-correlation-id': 'corr-123' },
      body: notificationEnvelope([booking()]),
    });
    expect(response.headers.get('x-correlation-id')).toBe('corr-123');
    await response.text();
    const line = t.logs.find((entry) => entry.correlationId === 'corr-123');
    expect(line).toMatchObject({ msg: 'ProcessNotification stored', accepted: 1 });
    expect(JSON.stringify(t.logs)).not.toContain('191212121212');
  });

  it('When the database is unavailable, then the call is refused with soap:Server so that EI retries', async () => {
    const other = await startTestApp();
    try {
      await other.activate(TEST_SOURCE_SYSTEM);
      await other.database.close();
      const answer = await postNotification(other.url, notificationEnvelope([booking()]));
      expect(answer).toMatchObject({ status: 500, faultcode: 'soap:Server' });
      expect(answer.faultstring).toContain('retry');
      const ready = await fetch(`${other.url}/readyz`);
      expect(ready.status).toBe(503);
    } finally {
      await other.app.close();
      await other.database.close().catch(() => {});
    }
  });

  it('When health is asked, then /healthz answers and /readyz reports the database and the waiting details fetcher', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      checks: { database: 'ok', detailsFetcher: 'not configured: processing waits' },
    });
  });
});
