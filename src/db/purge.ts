// Deleting old rows in small slices, for each component's retention (the components own the tables and
// the rules; this is only the walking). A round visits a table in order of its key, one slice of
// `sliceSize` keys per statement, and deletes the rows of the slice that meet the condition: every
// statement is short (its own transaction, few locks), the table is read once per round, and no extra
// index is needed. For tables whose key grows with time (bigserial ids), the walk stops at the first
// slice that holds no row older than the cutoff: newer rows are never read.
import { getTableName, sql, type Column, type SQL, type Table } from 'drizzle-orm';
import { rows, type RawExecutor } from './database.js';
import { decodeCount } from './decode.js';

/** A table of the calling component: its schema object, or its name (a constant, never input). */
export type PurgeTable = Table | string;
/** A column of that table: its schema object, or its name; `ctid` for tables with a composite key. */
export type PurgeColumn = Column | string;

export interface PurgeSpec {
  table: PurgeTable;
  /** The key walked: `id` (bigint, grows with time), a text primary key, or `ctid` (composite keys). */
  key: { column: PurgeColumn; type: 'bigint' | 'text' | 'tid' };
  /** Which rows of a slice go (SQL over the table's bare column names, `columnNames`; values as parameters). */
  condition: SQL;
  /** With a time-ordered key: the walk stops at a slice where no row has this column before `before`. */
  stopAt?: { column: PurgeColumn; before: Date };
  /** Rows of the same component that reference a deleted row (foreign key `column` -> key): deleted with it. */
  dependents?: { table: PurgeTable; column: PurgeColumn }[];
}

// Rendered as written names (schema objects give theirs), so the statement reads as before.
const tableName = (table: PurgeTable) => sql.raw(typeof table === 'string' ? table : getTableName(table));
const columnName = (column: PurgeColumn) => sql.raw(typeof column === 'string' ? column : column.name);

export interface PurgeOptions {
  sliceSize: number;
  /** Bound on one round; what is left waits for the next round. */
  maxSlices: number;
}

interface SliceRow {
  last: string | null;
  seen: number | string;
  deleted: number | string;
  older: number | string | null;
}

/** Deletes, slice by slice, the rows meeting the condition; returns how many were deleted. */
export async function purgeInSlices(executor: RawExecutor, spec: PurgeSpec, options: PurgeOptions): Promise<number> {
  const table = tableName(spec.table);
  const key = columnName(spec.key.column);
  const keyType = sql.raw(spec.key.type);
  const stop = spec.stopAt;
  const olderCount = stop
    ? sql`(select count(*) from ${table} t where t.${key} in (select k from slice)
             and t.${columnName(stop.column)} < ${stop.before.toISOString()}::timestamptz)`
    : sql`null`;
  let last: string | undefined;
  let deleted = 0;
  for (let slice = 0; slice < options.maxSlices; slice++) {
    const [row] = await rows<SliceRow>(
      executor,
      sql`with slice as (
            select ${key} as k from ${table}
            ${last === undefined ? sql`` : sql`where ${key} > ${last}::${keyType}`}
            order by ${key} limit ${options.sliceSize}
          ), doomed as (
            select ${key} as k from ${table} where ${key} in (select k from slice) and (${spec.condition})
          )${sql.join(
            (spec.dependents ?? []).map(
              (dependent, index) => sql`, dependent_${sql.raw(String(index))} as (
            delete from ${tableName(dependent.table)} where ${columnName(dependent.column)} in (select k from doomed))`,
            ),
          )}, gone as (
            -- Referencing rows go in the same statement: the foreign keys are checked at its end.
            delete from ${table} where ${key} in (select k from doomed) returning 1
          )
          select (select max(k)::text from slice) as last, (select count(*) from slice) as seen,
                 (select count(*) from gone) as deleted, ${olderCount} as older`,
    );
    deleted += decodeCount(row?.deleted);
    const seen = decodeCount(row?.seen);
    if (seen < options.sliceSize || !row?.last) break;
    if (spec.stopAt && decodeCount(row.older) === 0) break;
    last = row.last;
  }
  return deleted;
}

/**
 * The common case: rows of a table keyed by a time-ordered id whose `column` is before `before` go (the
 * walk stops at the first slice with nothing older). Returns how many were deleted.
 */
export function purgeOlderThan(
  executor: RawExecutor,
  table: PurgeTable,
  column: PurgeColumn,
  before: Date,
  options: PurgeOptions,
): Promise<number> {
  return purgeInSlices(
    executor,
    {
      table,
      key: { column: 'id', type: 'bigint' },
      condition: sql`${columnName(column)} < ${before.toISOString()}::timestamptz`,
      stopAt: { column, before },
    },
    options,
  );
}
