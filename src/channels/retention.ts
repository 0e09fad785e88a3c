// The channels' retention: notification requests already planned and deliveries that are finished
// (sent, delivered, failed, cancelled, unknown...) go after their period, with the rows that tie them to
// messages. A waiting request and a delivery still pending or being sent are never deleted. The
// citizens' settings stay until the citizen changes them.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/index.js';
import { purgeTables, type PurgeOptions } from '../db/index.js';

export interface ChannelRetention {
  deliveriesBefore: Date;
}

export function purgeChannels(
  database: Database,
  rules: ChannelRetention,
  options: PurgeOptions,
): Promise<{ notification_request: number; notification_delivery: number }> {
  const before = rules.deliveriesBefore.toISOString();
  return purgeTables(
    database.orm,
    [
      {
        table: 'notification_request',
        key: { column: 'id', type: 'bigint' },
        condition: sql`planned_at < ${before}::timestamptz`,
        stopAt: { column: 'created_at', before: rules.deliveriesBefore },
      },
      {
        table: 'notification_delivery',
        key: { column: 'id', type: 'bigint' },
        // Not while it may still be sent or settled (a delivery in doubt is looked up at the provider).
        condition: sql`status not in ('pending', 'sending', 'in_doubt') and updated_at < ${before}::timestamptz`,
        stopAt: { column: 'created_at', before: rules.deliveriesBefore },
        dependents: [{ table: 'notification_delivery_message', column: 'delivery_id' }],
      },
    ],
    options,
  );
}
