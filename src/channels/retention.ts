// The channels' retention: notification requests already planned and deliveries that are finished
// (sent, delivered, failed, cancelled, unknown...) go after their period, with the rows that tie them to
// messages. A waiting request and a delivery still pending or being sent are never deleted. The
// citizens' settings stay until the citizen changes them.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/index.js';
import { columnNames, purgeInSlices, type PurgeOptions } from '../db/index.js';
import { notificationDeliveries, notificationDeliveryMessages, notificationRequests } from './schema.js';

const r = columnNames(notificationRequests);
const d = columnNames(notificationDeliveries);

export interface ChannelRetention {
  deliveriesBefore: Date;
}

export async function purgeChannels(
  database: Database,
  rules: ChannelRetention,
  options: PurgeOptions,
): Promise<{ notification_request: number; notification_delivery: number }> {
  const before = rules.deliveriesBefore.toISOString();
  const requests = await purgeInSlices(
    database.orm,
    {
      table: notificationRequests,
      key: { column: notificationRequests.id, type: 'bigint' },
      condition: sql`${r.plannedAt} < ${before}::timestamptz`,
      stopAt: { column: notificationRequests.createdAt, before: rules.deliveriesBefore },
    },
    options,
  );
  const deliveries = await purgeInSlices(
    database.orm,
    {
      table: notificationDeliveries,
      key: { column: notificationDeliveries.id, type: 'bigint' },
      // Not while it may still be sent or settled (a delivery in doubt is looked up at the provider).
      condition: sql`${d.status} not in ('pending', 'sending', 'in_doubt') and ${d.updatedAt} < ${before}::timestamptz`,
      stopAt: { column: notificationDeliveries.createdAt, before: rules.deliveriesBefore },
      dependents: [{ table: notificationDeliveryMessages, column: notificationDeliveryMessages.deliveryId }],
    },
    options,
  );
  return { notification_request: requests, notification_delivery: deliveries };
}
