// Column names for raw statements, taken from a table's drizzle schema. A raw statement that names a
// column as `${c.keyHash}` no longer compiles when the column is renamed or dropped in schema.ts, and it
// renders exactly the column's name (quoted, unqualified), so it reads and plans like the written name:
// usable after a table alias (`n.${c.id}`), in `set`, in `insert into ... (...)` and in `returning`.
import { getTableColumns, sql, type Table } from 'drizzle-orm';

export type ColumnNames<T extends Table> = {
  readonly [K in keyof T['_']['columns']]: ReturnType<typeof sql.identifier>;
};

export function columnNames<T extends Table>(table: T): ColumnNames<T> {
  return Object.fromEntries(
    Object.entries(getTableColumns(table)).map(([key, column]) => [key, sql.identifier(column.name)]),
  ) as ColumnNames<T>;
}
