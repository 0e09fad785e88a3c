// Retention: the purge deletes what is past its period, table by table, and nothing that is still
// needed: pending notifications, held cancellations, posts still ahead (or without a time), unread
// messages, waiting notification requests and deliveries not yet sent. Real database (PGlite, or
// PostgreSQL with DATABASE_URL); rows are written directly as each component would have left them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { auditLog } from '../../src/activation-registry/schema.js';
import {
  notificationDeliveries,
  notificationDeliveryMessages,
  notificationRequests,
} from '../../src/channels/schema.js';
import { loadConfig } from '../../src/config.js';
import { rows } from '../../src/db/database.js';
import { bookingPosts, careUnitRelations, inboxMessages } from '../../src/inbox/schema.js';
import { engineDecisions, heldCancellations, securityEvents } from '../../src/message-engine/schema.js';
import { sourceActivityHourly, unregisteredSightings } from '../../src/source-activity/schema.js';
import { purgeExpired } from '../../src/operations/retention.js';
import { ingestPosts, notificationCalls, rejectedTransactions } from '../../src/process-notifications/schema.js';
import { inboundNotifications } from '../../src/queue/schema.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

const DAY = 86_400_000;
const NOW = new Date();
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);
const ahead = (days: number) => new Date(NOW.getTime() + days * DAY);
const RESIDENT = '191212121212';
const ENGAGEMENT = { registeredResidentIdentification: RESIDENT, businessObjectInstanceIdentifier: 'B-1' };

let database: TestDatabase;

async function count(table: string, where = sql`true`): Promise<number> {
  const [row] = await rows<{ n: number }>(
    database.orm,
    sql`select count(*)::int as n from ${sql.raw(table)} where ${where}`,
  );
  return Number(row!.n);
}

/** The `label` column of a query over a table, sorted (the query is a constant of this file). */
async function labels(query: string): Promise<string[]> {
  const found = await rows<{ label: string }>(database.orm, sql.raw(`select label from (${query}) t order by label`));
  return found.map((row) => row.label);
}

async function queueRow(
  label: string,
  status: 'pending' | 'done' | 'dead',
  receivedDaysAgo: number,
  settledDaysAgo?: number,
): Promise<void> {
  await database.orm.insert(inboundNotifications).values({
    callId: 1,
    position: 1,
    keyHash: label,
    resident: RESIDENT,
    sourceSystem: 'SE-SYS',
    deleteFlag: false,
    engagement: ENGAGEMENT,
    receivedAt: ago(receivedDaysAgo),
    status,
    availableAt: ago(settledDaysAgo ?? receivedDaysAgo),
    processedAt: status === 'done' ? ago(settledDaysAgo ?? receivedDaysAgo) : null,
  });
}

async function post(label: string, present: boolean, updatedDaysAgo: number, start: Date | null): Promise<void> {
  await database.orm.insert(bookingPosts).values({
    keyHash: label,
    resident: RESIDENT,
    sourceSystem: 'SE-SYS',
    logicalAddress: 'SE-VC1',
    bookingId: label,
    categorization: start ? 'Booking' : 'Invitation',
    present,
    details: start ? { healthcareFacility: 'SE-VC1', start: start.toISOString() } : { healthcareFacility: 'SE-VC1' },
    startAt: start,
    updatedAt: ago(updatedDaysAgo),
  });
}

async function message(label: string, createdDaysAgo: number, state: 'unread' | 'read' | 'hidden'): Promise<number> {
  const [row] = await database.orm
    .insert(inboxMessages)
    .values({
      resident: RESIDENT,
      kind: 'booking_confirmation',
      subject: label,
      body: 'text',
      careUnitHsaId: 'SE-VC1',
      booking: {},
      keyHash: label,
      cause: `test:${label}`,
      createdAt: ago(createdDaysAgo),
      readAt: state === 'read' ? ago(createdDaysAgo - 1) : null,
      deletedAt: state === 'hidden' ? ago(createdDaysAgo - 1) : null,
    })
    .returning({ id: inboxMessages.id });
  return row!.id;
}

async function delivery(
  label: string,
  status: 'pending' | 'sending' | 'sent' | 'failed',
  daysAgo: number,
  messageId: number,
): Promise<void> {
  const [row] = await database.orm
    .insert(notificationDeliveries)
    .values({
      resident: RESIDENT,
      channel: 'sms',
      status,
      notBefore: ago(daysAgo),
      providerId: label,
      createdAt: ago(daysAgo),
      updatedAt: ago(daysAgo),
    })
    .returning({ id: notificationDeliveries.id });
  await database.orm.insert(notificationDeliveryMessages).values({ messageId, channel: 'sms', deliveryId: row!.id });
}

describe('Retention', () => {
  beforeAll(async () => {
    database = await openTestDatabase();

    // Queue: done after 7 days, dead letters after 90, pending never.
    await queueRow('done-old', 'done', 9, 8);
    await queueRow('done-recent', 'done', 6, 6);
    await queueRow('dead-old', 'dead', 100, 95);
    await queueRow('dead-recent', 'dead', 40, 39);
    await queueRow('pending-ancient', 'pending', 400, 1);

    // Ingest: calls after 30 days; rejected transactions after 30 (their call waits for them); redelivery
    // fingerprints once past the redelivery window (300 s) and the purge's margin of an hour.
    const [oldCall, oldCallWithRecentRejection, recentCall] = await database.orm
      .insert(notificationCalls)
      .values([
        { receivedAt: ago(40), transactions: 1, accepted: 1, ignored: 0, rejected: 0, correlationId: 'call-old' },
        { receivedAt: ago(35), transactions: 1, accepted: 0, ignored: 0, rejected: 1, correlationId: 'call-old-kept' },
        { receivedAt: ago(2), transactions: 1, accepted: 0, ignored: 0, rejected: 1, correlationId: 'call-recent' },
      ])
      .returning({ id: notificationCalls.id });
    void oldCall;
    await database.orm.insert(rejectedTransactions).values([
      {
        callId: oldCallWithRecentRejection!.id,
        position: 1,
        code: 'schema',
        reason: 'kept',
        fields: {},
        receivedAt: ago(20),
      },
      { callId: recentCall!.id, position: 1, code: 'schema', reason: 'recent', fields: {}, receivedAt: ago(2) },
    ]);
    await database.orm
      .insert(rejectedTransactions)
      .values({ callId: recentCall!.id, position: 2, code: 'schema', reason: 'old', fields: {}, receivedAt: ago(31) });
    await database.orm.insert(ingestPosts).values([
      { keyHash: 'fp-old', sequenceHash: 'x', updatedAt: new Date(NOW.getTime() - (300 + 3600 + 60) * 1000) },
      { keyHash: 'fp-recent', sequenceHash: 'x', updatedAt: new Date(NOW.getTime() - (300 + 3600 - 60) * 1000) },
    ]);

    // Inbox posts: gone after 90 days once deleted or long past; present posts ahead or without a time stay.
    await post('post-deleted-old', false, 91, ahead(10));
    await post('post-deleted-recent', false, 89, ago(5));
    await post('post-ahead-untouched', true, 400, ahead(30));
    await post('post-open-invitation', true, 400, null);
    await post('post-past-long-ago', true, 200, ago(120));
    await post('post-past-recently', true, 20, ago(10));

    await database.orm.insert(heldCancellations).values([
      // Still held (say the worker was down): never deleted, however old.
      {
        resident: RESIDENT,
        sourceSystem: 'SE-SYS',
        keyHash: 'held-waiting',
        logicalAddress: 'SE-VC1',
        categorization: 'Booking',
        deletedAt: ago(200),
        dueAt: ago(199),
        status: 'held',
        sourceNotificationId: 1,
      },
      {
        resident: RESIDENT,
        sourceSystem: 'SE-SYS',
        keyHash: 'held-merged-old',
        logicalAddress: 'SE-VC1',
        categorization: 'Booking',
        deletedAt: ago(100),
        dueAt: ago(100),
        status: 'merged',
        sourceNotificationId: 2,
        resolvedAt: ago(100),
      },
      {
        resident: RESIDENT,
        sourceSystem: 'SE-SYS',
        keyHash: 'held-released-recent',
        logicalAddress: 'SE-VC1',
        categorization: 'Booking',
        deletedAt: ago(10),
        dueAt: ago(10),
        status: 'released',
        sourceNotificationId: 3,
        resolvedAt: ago(10),
      },
    ]);

    // Messages: read or hidden ones after 730 days; unread ones never.
    const readOld = await message('msg-read-old', 800, 'read');
    await message('msg-hidden-old', 800, 'hidden');
    await message('msg-unread-old', 2000, 'unread');
    const readRecent = await message('msg-read-recent', 100, 'read');
    await database.orm.insert(careUnitRelations).values([
      { resident: RESIDENT, careUnitHsaId: 'SE-REL-OLD', firstAt: ago(900), lastAt: ago(800) },
      { resident: RESIDENT, careUnitHsaId: 'SE-REL-RECENT', firstAt: ago(900), lastAt: ago(100) },
    ]);
    await database.orm.insert(securityEvents).values([
      { at: ago(2000), kind: 'subject-of-care-mismatch', logicalAddress: 'SE-VC1', bookingId: 'sec-old', detail: 'x' },
      {
        at: ago(100),
        kind: 'subject-of-care-mismatch',
        logicalAddress: 'SE-VC1',
        bookingId: 'sec-recent',
        detail: 'x',
      },
    ]);

    // Channels: planned requests and finished deliveries after 90 days; waiting ones never.
    await database.orm.insert(notificationRequests).values([
      { resident: RESIDENT, messageId: readOld, createdAt: ago(800), plannedAt: ago(800) },
      { resident: RESIDENT, messageId: readRecent, createdAt: ago(95), plannedAt: null },
    ]);
    await delivery('dlv-sent-old', 'sent', 100, readOld);
    await delivery('dlv-failed-recent', 'failed', 30, readRecent);
    await delivery('dlv-pending-old', 'pending', 100, 9001);
    await delivery('dlv-sending-old', 'sending', 100, 9002);

    await database.orm.insert(auditLog).values([
      { at: ago(1900), actor: 'a', action: 'source_system.register', entity: 'source_system', entityId: 'audit-old' },
      { at: ago(10), actor: 'a', action: 'source_system.register', entity: 'source_system', entityId: 'audit-recent' },
    ]);

    // The engine's decisions (the trace): as long as the notifications (done 7, dead letters 90 days).
    const decision = {
      keyHash: 'k',
      sourceSystem: 'SE-SYS',
      logicalAddress: 'SE-VC1',
      outcome: 'no_message' as const,
      because: 'x',
    };
    await database.orm.insert(engineDecisions).values([
      { ...decision, at: ago(91), bookingId: 'decision-old' },
      { ...decision, at: ago(80), bookingId: 'decision-recent' },
    ]);
    // Source activity: hourly counters and unregistered sightings after 35 days.
    await database.orm.insert(sourceActivityHourly).values([
      { environment: 'qa', sourceSystem: 'activity-old', hour: ago(36), received: 1 },
      { environment: 'qa', sourceSystem: 'activity-recent', hour: ago(6), received: 1 },
    ]);
    await database.orm.insert(unregisteredSightings).values([
      {
        environment: 'qa',
        sourceSystem: 'sighting-old',
        logicalAddress: 'SE-VC1',
        notifications: 1,
        firstSeenAt: ago(100),
        lastSeenAt: ago(40),
      },
      {
        environment: 'qa',
        sourceSystem: 'sighting-recent',
        logicalAddress: 'SE-VC1',
        notifications: 1,
        firstSeenAt: ago(100),
        lastSeenAt: ago(1),
      },
    ]);
  }, 60_000);

  afterAll(async () => {
    await database?.close();
  });

  it('When the purge runs with the default periods, then exactly the expired rows are gone and everything still needed is kept', async () => {
    const retention = { ...loadConfig({}).retention, batchSize: 10 };
    const report = await purgeExpired(database, retention, NOW);
    expect(report).toEqual({
      inbound_notification: 2,
      rejected_transaction: 1,
      notification_call: 1,
      ingest_post: 1,
      held_cancellation: 1,
      booking_post: 2,
      inbox_message: 2,
      care_unit_relation: 1,
      security_event: 1,
      notification_request: 1,
      notification_delivery: 1,
      audit_log: 1,
      engine_decision: 1,
      source_activity_hourly: 1,
      unregistered_sighting: 1,
    });
    await expect(labels('select booking_id as label from engine_decision')).resolves.toEqual(['decision-recent']);
    await expect(labels('select source_system as label from source_activity_hourly')).resolves.toEqual([
      'activity-recent',
    ]);
    await expect(labels('select source_system as label from unregistered_sighting')).resolves.toEqual([
      'sighting-recent',
    ]);

    await expect(labels('select key_hash as label from inbound_notification')).resolves.toEqual([
      'dead-recent',
      'done-recent',
      'pending-ancient',
    ]);
    await expect(labels('select correlation_id as label from notification_call')).resolves.toEqual([
      'call-old-kept',
      'call-recent',
    ]);
    await expect(labels('select reason as label from rejected_transaction')).resolves.toEqual(['kept', 'recent']);
    await expect(labels('select key_hash as label from ingest_post')).resolves.toEqual(['fp-recent']);
    await expect(labels('select key_hash as label from booking_post')).resolves.toEqual([
      'post-ahead-untouched',
      'post-deleted-recent',
      'post-open-invitation',
      'post-past-recently',
    ]);
    await expect(labels('select key_hash as label from held_cancellation')).resolves.toEqual([
      'held-released-recent',
      'held-waiting',
    ]);
    await expect(labels('select subject as label from inbox_message')).resolves.toEqual([
      'msg-read-recent',
      'msg-unread-old',
    ]);
    await expect(labels('select care_unit_hsa_id as label from care_unit_relation')).resolves.toEqual([
      'SE-REL-RECENT',
    ]);
    await expect(labels('select booking_id as label from security_event')).resolves.toEqual(['sec-recent']);
    await expect(count('notification_request')).resolves.toBe(1);
    await expect(count('notification_request', sql`planned_at is null`)).resolves.toBe(1);
    await expect(labels('select provider_id as label from notification_delivery')).resolves.toEqual([
      'dlv-failed-recent',
      'dlv-pending-old',
      'dlv-sending-old',
    ]);
    // The purged delivery's link to its message went with it; the others' stay.
    await expect(count('notification_delivery_message')).resolves.toBe(3);
    await expect(labels('select entity_id as label from audit_log')).resolves.toEqual(['audit-recent']);
  });

  it('When the purge runs again, then nothing more is deleted', async () => {
    const report = await purgeExpired(database, loadConfig({}).retention, NOW);
    expect(Object.values(report).every((deleted) => deleted === 0)).toBe(true);
  });

  it('When many rows expire, then they are deleted in slices of the batch size, and the walk stops at the first slice with nothing old', async () => {
    const before = await count('inbound_notification');
    // 95 expired rows, then 30 recent ones: slices of 10 delete all 95 and read at most one slice of recent rows.
    for (let i = 0; i < 95; i++) await queueRow(`bulk-old-${i}`, 'done', 20, 20);
    for (let i = 0; i < 30; i++) await queueRow(`bulk-recent-${i}`, 'done', 1, 1);
    const statements: string[] = [];
    const counting = {
      execute: (query: Parameters<typeof database.orm.execute>[0]) => {
        statements.push('purge');
        return database.orm.execute(query);
      },
    };
    const { purgeInSlices } = await import('../../src/db/purge.js');
    const deleted = await purgeInSlices(
      counting,
      {
        table: 'inbound_notification',
        key: { column: 'id', type: 'bigint' },
        condition: sql`status = 'done' and processed_at < ${ago(7).toISOString()}::timestamptz`,
        stopAt: { column: 'received_at', before: ago(7) },
      },
      { sliceSize: 10, maxSlices: 1000 },
    );
    expect(deleted).toBe(95);
    await expect(count('inbound_notification')).resolves.toBe(before + 30);
    // 3 kept rows + 95 old ones = 98 rows before the recent ones: 10 slices, plus one with only recent rows.
    expect(statements.length).toBeLessThanOrEqual(11);
  });
});

describe('Retention over several slices of every kind of key', () => {
  it('When tables keyed by text and by ctid hold more expired rows than one slice, then all of them go and the rest stay', async () => {
    database = await openTestDatabase();
    try {
      for (let i = 0; i < 25; i++) {
        await database.orm
          .insert(ingestPosts)
          .values({ keyHash: `old-${String(i).padStart(2, '0')}`, sequenceHash: 'x', updatedAt: ago(40) });
        await database.orm
          .insert(careUnitRelations)
          .values({ resident: RESIDENT, careUnitHsaId: `SE-OLD-${i}`, firstAt: ago(900), lastAt: ago(800) });
      }
      for (let i = 0; i < 7; i++) {
        await database.orm
          .insert(ingestPosts)
          .values({ keyHash: `new-${i}`, sequenceHash: 'x', updatedAt: new Date(NOW.getTime() - 60_000) });
        await database.orm
          .insert(careUnitRelations)
          .values({ resident: RESIDENT, careUnitHsaId: `SE-NEW-${i}`, firstAt: ago(900), lastAt: ago(1) });
      }
      const report = await purgeExpired(database, { ...loadConfig({}).retention, batchSize: 10 }, NOW);
      expect(report.ingest_post).toBe(25);
      expect(report.care_unit_relation).toBe(25);
      await expect(count('ingest_post')).resolves.toBe(7);
      await expect(count('care_unit_relation', sql`care_unit_hsa_id like 'SE-NEW-%'`)).resolves.toBe(7);
      await expect(count('care_unit_relation')).resolves.toBe(7);
    } finally {
      await database.close();
    }
  }, 60_000);
});

describe('Retention in the worker role', () => {
  let t: TestApp;
  afterAll(async () => {
    await t?.close();
  });

  it('When a worker runs a purge round with configured periods, then expired rows of its database are deleted and the pending ones stay', async () => {
    t = await startTestApp({ ROLES: 'worker', RETENTION_QUEUE_DAYS: '1', RETENTION_INTERVAL_MINUTES: '0' });
    database = t.database;
    await queueRow('worker-done-2-days', 'done', 2, 2);
    await queueRow('worker-pending', 'pending', 2, 2);
    expect(t.app.retention).toBeDefined();
    const report = await t.app.retention!.runOnce();
    expect(report.inbound_notification).toBe(1);
    await expect(labels('select key_hash as label from inbound_notification')).resolves.toEqual(['worker-pending']);
    expect(t.logs.some((line) => line.msg === 'retention: expired rows deleted')).toBe(true);
  });
});
