// Tables of the activation registry: which booking systems (by HSA-id) produce inbox messages, per
// environment; care units loading silently for a period; and the flood guard's view of each care unit.
import { sql } from 'drizzle-orm';
import {
  bigserial,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';
import { HOLD_STATUSES } from './flood-guard.js';

/**
 * How a registered source system's notifications are treated: `active` makes messages, `silent` keeps state
 * only. The one list behind the type, the CHECK constraint, the OpenAPI enums and the field rule.
 */
/**
 * The environments a registration applies to (APP_ENVIRONMENT picks the one this deployment serves). The one
 * list behind the type, the CHECK constraints (here and in source-activity), the OpenAPI enums, the field
 * rule and the configuration's allowed values.
 */
export const ENVIRONMENTS = ['qa', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
/** `environment in ('qa', 'prod')` for a CHECK constraint, from ENVIRONMENTS. */
export const environmentCheck = (column: AnyPgColumn) =>
  sql`${column} in (${sql.raw(ENVIRONMENTS.map((environment) => `'${environment}'`).join(', '))})`;

export const SOURCE_SYSTEM_MODES = ['active', 'silent'] as const;
export type SourceSystemMode = (typeof SOURCE_SYSTEM_MODES)[number];
/**
 * The mode stamped on each queued notification when EI delivers it; the engine uses only the stamp, so a
 * bulk load delivered in silent mode stays silent when it is processed after the switch to active.
 * `active`: messages as usual; `silent`: state only (a silent source system, or a care unit's silent
 * loading period); `held`: messages made but held back by the flood guard until an administrator decides.
 */
export const DELIVERY_MODES = [...SOURCE_SYSTEM_MODES, 'held'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

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
    check('source_system_environment_check', environmentCheck(t.environment)),
    check(
      'source_system_mode_check',
      sql`${t.mode} in (${sql.raw(SOURCE_SYSTEM_MODES.map((mode) => `'${mode}'`).join(', '))})`,
    ),
    check('source_system_hsa_id_check', sql`length(${t.hsaId}) between 1 and 64 and ${t.hsaId} = btrim(${t.hsaId})`),
    // HSA-ids are not case-sensitive: stored upper-case, so one live registration per HSA-id and
    // environment whatever case it was typed in; a deactivated one may be registered again.
    check('source_system_hsa_id_upper_check', sql`${t.hsaId} = upper(${t.hsaId})`),
    uniqueIndex('source_system_live_unique')
      .on(t.environment, t.hsaId)
      .where(sql`${t.deactivatedAt} is null`),
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

/**
 * A care unit (logical address) loading its bookings silently for a period, set by an administrator:
 * what EI delivers for it in [starts_at, ends_at) is stored without messages. Ending it early sets
 * ended_at; the row stays as history.
 */
export const careUnitLoads = pgTable(
  'care_unit_load',
  {
    id: serial('id').primaryKey(),
    environment: text('environment').notNull(),
    logicalAddress: text('logical_address').notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    note: text('note'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (t) => [
    check('care_unit_load_environment_check', environmentCheck(t.environment)),
    check('care_unit_load_period_check', sql`${t.endsAt} > ${t.startsAt}`),
    check(
      'care_unit_load_address_check',
      sql`length(${t.logicalAddress}) between 1 and 64 and ${t.logicalAddress} = btrim(${t.logicalAddress})`,
    ),
    index('care_unit_load_unit_idx').on(t.environment, t.logicalAddress),
  ],
);

/**
 * The flood guard's memory of each care unit: when it was first and last seen, whether it is watched
 * (new or back after a long silence) and its count in the current window, and its hold, if any.
 */
export const careUnitGuards = pgTable(
  'care_unit_guard',
  {
    environment: text('environment').notNull(),
    logicalAddress: text('logical_address').notNull(),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
    /** Watched until then (null: not watched). */
    watchUntil: timestamp('watch_until', { withTimezone: true }),
    windowStartedAt: timestamp('window_started_at', { withTimezone: true }),
    windowPosts: integer('window_posts').notNull().default(0),
    /** null: never held; otherwise the last hold's state. */
    holdStatus: text('hold_status'),
    holdStartedAt: timestamp('hold_started_at', { withTimezone: true }),
    /** Notifications delivered while held (this hold). */
    heldPosts: integer('held_posts').notNull().default(0),
    lastHeldAt: timestamp('last_held_at', { withTimezone: true }),
    holdDecidedAt: timestamp('hold_decided_at', { withTimezone: true }),
    holdDecidedBy: text('hold_decided_by'),
  },
  (t) => [
    primaryKey({ columns: [t.environment, t.logicalAddress] }),
    check('care_unit_guard_environment_check', environmentCheck(t.environment)),
    check(
      'care_unit_guard_hold_status_check',
      sql.raw(`hold_status is null or hold_status in (${HOLD_STATUSES.map((s) => `'${s}'`).join(', ')})`),
    ),
    index('care_unit_guard_held_idx')
      .on(t.holdStatus)
      .where(sql`${t.holdStatus} is not null`),
  ],
);
