// Decoding of raw rows, in one place. postgres-js and PGlite answer a raw `sql` statement differently:
// a bigint comes as a string (postgres-js) or a number, a json/jsonb value as parsed data or as its text,
// a timestamptz as a Date or as text. Each component's reader decodes its row once with these, so that
// the rest of the code sees `number`, the declared shape and `Date` only.

/** A bigint/int value (id, count) as a number; ids stay far below 2^53. */
export function decodeId(value: string | number | bigint): number {
  return Number(value);
}

/** A count or sum that may be null (no row, empty aggregate) as a number, 0 when absent. */
export function decodeCount(value: string | number | bigint | null | undefined): number {
  return value === null || value === undefined ? 0 : Number(value);
}

/** A json/jsonb value as `T`, whether the driver parsed it already or answered its text. */
export function decodeJson<T>(value: T | string): T;
export function decodeJson<T>(value: T | string | null): T | null;
export function decodeJson<T>(value: T | string | null | undefined): T | null | undefined {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

/** A timestamptz as a Date, whether the driver made one or answered its text. */
export function decodeDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}
