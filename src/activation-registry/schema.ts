// Tables of the activation registry: which booking systems (by HSA-id) produce inbox messages, per environment.
import { sql } from 'drizzle-orm';
import { bigserial, check, index, jsonb, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const sourceSystems = pgTable(
  'source_system',
  {
    id: serial('id').primaryKey(),
    environment: text('environment').notNull(),
    hsaId: text('hsa_id').notNull(),
    name: text('name').notNull(),
    mode: text('mode').notNull().default('active'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    // Deleting deactivates: the row and its history stay.
    deactivatedAt: timestamp('deactivated_at', { withTimezone: true }),
  },
  (t) => [
    check('source_system_environment_check', sql`${t.environment} in ('qa', 'prod')`),
    check('source_system_mode_check', sql`${t.mode} in ('active', 'silent')`),
    check('source_system_hsa_id_check', sql`length(${t.hsaId}) between 1 and 64 and ${t.hsaId} = btrim(${t.hsaId})`),
    // HSA-ids are not case-sensitive: stored upper-case, so one live registration per HSA-id and
    // environment whatever case it was typed in; a deactivated one may be registered again.
    check('source_system_hsa_id_upper_check', sql`${t.hsaId} = upper(${t.hsaId})`),
    uniqueIndex('source_system_live_unique').on(t.environment, t.hsaId).where(sql`${t.deactivatedAt} is null`),
  ],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    entity: text('entity').notNull(),
    entityId: text('entity_id').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
  },
  (t) => [index('audit_log_at_idx').on(t.at)],
);
