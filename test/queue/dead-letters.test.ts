// An operator's retry of dead letters and its audit entry are one transaction (the queue calls the
// registry's recordAudit inside it): a retry is never left unaudited, and an audit never claims a retry
// that did not happen. Real database (PGlite, or PostgreSQL with DATABASE_URL).
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/index.js';
import { NOTIFICATION_STATUSES, retryDeadLettersOfSystem, retryOneDeadLetter } from '../../src/queue/index.js';
import { inboundNotifications } from '../../src/queue/schema.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;

async function deadLetter(sourceSystem: string): Promise<number> {
  const [row] = await database.orm
    .insert(inboundNotifications)
    .values({
      callId: 1,
      position: 1,
      keyHash: `post-${sourceSystem}-${Math.random()}`,
      resident: '191212121212',
      sourceSystem,
      deleteFlag: false,
      engagement: {
        registeredResidentIdentification: '191212121212',
        businessObjectInstanceIdentifier: 'B-1',
        logicalAddress: 'SE-UNIT',
      },
      status: 'dead',
      attempts: 3,
      lastError: 'malformed GetBookingDetails answer',
    })
    .returning({ id: inboundNotifications.id });
  return row!.id;
}

async function statusOf(id: number): Promise<string> {
  const [row] = await rows<{ status: string }>(
    database.orm,
    sql`select status from inbound_notification where id = ${id}`,
  );
  return row!.status;
}

async function auditsOf(entityId: string): Promise<{ action: string; actor: string }[]> {
  return rows(
    database.orm,
    sql`select action, actor from audit_log where entity = 'dead_letter' and entity_id = ${entityId} order by id`,
  );
}

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

describe('dead-letter retries and their audit', () => {
  it('When an operator retries a dead letter, then it is pending again and the audit says who did it', async () => {
    const id = await deadLetter('SE-SYS-A');
    await expect(retryOneDeadLetter(database, 'operator-1', id)).resolves.toBe(true);
    expect(await statusOf(id)).toBe(NOTIFICATION_STATUSES[0]);
    expect(await auditsOf(String(id))).toEqual([{ action: 'retry', actor: 'operator-1' }]);
  });

  it('When the audit entry cannot be written (no actor), then the dead letter stays dead: the retry is rolled back with it', async () => {
    const id = await deadLetter('SE-SYS-B');
    await expect(retryOneDeadLetter(database, ' ', id)).rejects.toThrow(/actor/);
    expect(await statusOf(id)).toBe('dead');
    expect(await auditsOf(String(id))).toEqual([]);
  });

  it('When all dead letters of a system are retried without an actor, then none of them is queued again', async () => {
    const ids = [await deadLetter('SE-SYS-C'), await deadLetter('SE-SYS-C')];
    await expect(retryDeadLettersOfSystem(database, '', 'SE-SYS-C')).rejects.toThrow(/actor/);
    for (const id of ids) expect(await statusOf(id)).toBe('dead');
    await expect(retryDeadLettersOfSystem(database, 'operator-2', 'SE-SYS-C')).resolves.toEqual(
      [...ids].sort((a, b) => a - b),
    );
    expect(await auditsOf('SE-SYS-C')).toEqual([{ action: 'retry_all', actor: 'operator-2' }]);
  });
});
