// The database handle (postgres-js or PGlite, drizzle, migrations), the typed row reader, and the
// sliced purge each component's retention uses. Owns no table: each component declares its own.
export {
  type Database,
  type Executor,
  openDatabase,
  type Orm,
  preparedRows,
  type RawExecutor,
  rows,
} from './database.js';
export { purgeInSlices, purgeOlderThan, type PurgeOptions } from './purge.js';
export { DatabaseInUseError } from './embedded-lock.js';
export { decodeCount, decodeDate, decodeId, decodeJson } from './decode.js';
export { columnNames, type ColumnNames } from './columns.js';
