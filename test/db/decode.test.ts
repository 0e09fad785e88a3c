// The row decoders: each driver's answer (postgres-js: bigint as text, json parsed; PGlite: numbers,
// json parsed or text) becomes the same typed value.
import { describe, expect, it } from 'vitest';
import { decodeCount, decodeDate, decodeId, decodeJson } from '../../src/db/index.js';

describe('row decoders', () => {
  it.each([
    ['12', 12],
    [12, 12],
    [12n, 12],
  ] as const)('decodeId(%s) is %d', (raw, expected) => {
    expect(decodeId(raw)).toBe(expected);
  });

  it.each([
    [null, 0],
    [undefined, 0],
    ['7', 7],
    [7, 7],
  ] as const)('decodeCount(%s) is %d', (raw, expected) => {
    expect(decodeCount(raw)).toBe(expected);
  });

  it('decodes json given as text or as parsed data, and keeps null', () => {
    const engagement = { logicalAddress: 'SE1', categorization: 'Booking' };
    expect(decodeJson<typeof engagement>(JSON.stringify(engagement))).toEqual(engagement);
    expect(decodeJson<typeof engagement>(engagement)).toBe(engagement);
    expect(decodeJson<typeof engagement>(null)).toBeNull();
    expect(decodeJson<string[]>('["a","b"]')).toEqual(['a', 'b']);
  });

  it('decodes a timestamptz given as text or as a Date', () => {
    const at = new Date('2026-03-29T01:30:00.000Z');
    expect(decodeDate(at)).toBe(at);
    expect(decodeDate('2026-03-29 03:30:00+02').toISOString()).toBe(at.toISOString());
  });
});
