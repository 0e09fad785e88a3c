// Ingest threads (parse-pool.ts): a call read and checked on a thread gives exactly what the main thread
// gives, a bad call is refused with the same fault, and the endpoint answers alike with and without them.
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { EnvelopeError } from '../../src/process-notifications/envelope-parser.js';
import { createParsePool, POOL_MIN_BYTES } from '../../src/process-notifications/parse-pool.js';
import { prepareNotification } from '../../src/process-notifications/prepare.js';
import { startTestApp } from '../helpers/app.js';
import { engagement, notificationEnvelope, postNotification } from '../helpers/soap.js';

/** A call over POOL_MIN_BYTES with valid, rejected and foreign transactions. */
function mixedCall(tag: string): string {
  const transactions = Array.from({ length: 120 }, (_, i) => {
    if (i % 10 === 3)
      return engagement({
        businessObjectInstanceIdentifier: `${tag}-${i}`,
        registeredResidentIdentification: 'not-a-person',
      });
    if (i % 10 === 5)
      return engagement({
        businessObjectInstanceIdentifier: `${tag}-${i}`,
        serviceDomain: 'riv:clinicalprocess:other',
      });
    if (i % 10 === 7)
      return engagement({
        businessObjectInstanceIdentifier: `${tag}-${i}`,
        deleteFlag: true,
        mostRecentContent: '20261399000000',
      });
    return engagement({
      businessObjectInstanceIdentifier: `${tag}-${i}`,
      registeredResidentIdentification: `19121212${String(1000 + i).slice(-4)}`,
    });
  });
  return notificationEnvelope(transactions);
}

describe('ingest threads', () => {
  const pool = createParsePool(2);
  afterAll(() => pool.close());

  it("When a call is read on an ingest thread, then the result equals the main thread's", async () => {
    const xml = mixedCall('same');
    expect(Buffer.byteLength(xml)).toBeGreaterThan(POOL_MIN_BYTES);
    const threaded = await pool.prepare(Buffer.from(xml));
    const inline = prepareNotification(xml);
    expect(threaded).toEqual(inline);
    expect(threaded.prepared.filter((item) => !item.ok).length).toBe(24);
  });

  it('When calls are read on threads at once, then each gets its own result', async () => {
    const xmls = Array.from({ length: 6 }, (_, i) => mixedCall(`many${i}`));
    const results = await Promise.all(xmls.map((xml) => pool.prepare(Buffer.from(xml))));
    results.forEach((result, i) => expect(result).toEqual(prepareNotification(xmls[i]!)));
  });

  it("When a thread is given a broken envelope or bytes that are not UTF-8, then it refuses with the main thread's EnvelopeError", async () => {
    const broken = `${mixedCall('broken').slice(0, -30)}`;
    const threaded = await pool.prepare(Buffer.from(broken)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(threaded).toBeInstanceOf(EnvelopeError);
    let inline: unknown;
    try {
      prepareNotification(broken);
    } catch (error) {
      inline = error;
    }
    expect((threaded as EnvelopeError).message).toBe((inline as EnvelopeError).message);
    expect((threaded as EnvelopeError).faultcode).toBe((inline as EnvelopeError).faultcode);

    const notUtf8 = Buffer.concat([Buffer.from(mixedCall('bytes')), Buffer.from([0xff, 0xfe])]);
    const refused = await pool.prepare(notUtf8).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(EnvelopeError);
    expect((refused as EnvelopeError).message).toBe('The message is not valid UTF-8');
  });

  it('When the endpoint reads with threads or without, then the answers and what is stored are the same', async () => {
    const answers: string[] = [];
    const stored: number[] = [];
    for (const threads of ['0', '2']) {
      const t = await startTestApp({ INGEST_THREADS: threads });
      try {
        await t.activate('SE1623210002-COSMIC');
        const answer = await postNotification(t.url, mixedCall('endpoint'));
        expect(answer.status).toBe(200);
        answers.push(`${answer.resultCode} ${answer.comment}`);
        const [row] = await rows<{ n: number }>(
          t.database.orm,
          sql`select count(*)::int as n from inbound_notification`,
        );
        stored.push(Number(row!.n));
      } finally {
        await t.close();
      }
    }
    expect(answers[0]).toMatch(
      /^ERROR accepted 84 \(already received 0\), ignored 12, rejected 24; rejected positions: 4, 8, 14/,
    );
    expect(answers[1]).toBe(answers[0]);
    expect(stored).toEqual([84, 84]);
  }, 180_000);
});
