// The flood guard's rule, table-driven: one row per situation (new unit, returning unit, known unit,
// announced load, held unit, guard off, windows), plus the waiting rule (alert, expire).
import { describe, expect, it } from 'vitest';
import {
  judgeUnit,
  judgeWaiting,
  type GuardSettings,
  type Observation,
  type UnitRecord,
} from '../../src/activation-registry/flood-guard.js';

const T0 = new Date('2026-11-22T10:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const DAY = 86_400;
const SETTINGS: GuardSettings = {
  threshold: 50,
  windowMs: 900_000,
  watchMs: 24 * 3600_000,
  dormantMs: 30 * DAY * 1000,
};

function seen(overrides: Partial<UnitRecord> = {}): UnitRecord {
  return { firstSeenAt: at(-100 * DAY), lastSeenAt: at(-60), windowPosts: 0, heldPosts: 0, ...overrides };
}

function traffic(newPosts: number, overrides: Partial<Observation> = {}): Observation {
  return { at: T0, newPosts, notifications: newPosts, announced: false, ...overrides };
}

interface Row {
  when: string;
  previous: UnitRecord | undefined;
  observation: Observation;
  settings?: Partial<GuardSettings>;
  held: boolean;
  tripped?: boolean;
  record?: Partial<UnitRecord>;
  because: RegExp;
}

const rows: Row[] = [
  {
    when: 'a unit never seen before sends a burst above the threshold in one call',
    previous: undefined,
    observation: traffic(1000),
    held: true,
    tripped: true,
    record: { holdStatus: 'holding', holdStartedAt: T0, windowPosts: 1000, heldPosts: 1000, firstSeenAt: T0 },
    because: /new care unit sent 1000 new posts.*held/,
  },
  {
    when: 'a unit never seen before sends exactly the threshold',
    previous: undefined,
    observation: traffic(50),
    held: false,
    record: { windowPosts: 50, watchUntil: at(24 * 3600), windowStartedAt: T0 },
    because: /new care unit, 50 new posts in the window: below the threshold/,
  },
  {
    when: 'a watched unit crosses the threshold over several calls within the window',
    previous: seen({
      firstSeenAt: at(-600),
      lastSeenAt: at(-10),
      watchUntil: at(3600),
      windowStartedAt: at(-600),
      windowPosts: 45,
    }),
    observation: traffic(6),
    held: true,
    tripped: true,
    record: { windowPosts: 51, holdStatus: 'holding' },
    because: /watched care unit sent 51 new posts/,
  },
  {
    when: 'a watched unit whose window has passed starts a new window',
    previous: seen({
      firstSeenAt: at(-1000),
      lastSeenAt: at(-10),
      watchUntil: at(3600),
      windowStartedAt: at(-900),
      windowPosts: 45,
    }),
    observation: traffic(6),
    held: false,
    record: { windowPosts: 6, windowStartedAt: T0 },
    because: /below the threshold/,
  },
  {
    when: 'a unit back after a long silence sends a burst',
    previous: seen({ lastSeenAt: at(-31 * DAY) }),
    observation: traffic(500),
    held: true,
    tripped: true,
    because: /returning care unit sent 500 new posts/,
  },
  {
    when: 'a known unit, seen recently, sends a large call (EI reserve reload without announcement)',
    previous: seen(),
    observation: traffic(5000),
    held: false,
    record: { windowPosts: 0 },
    because: /known care unit: not watched/,
  },
  {
    when: 'a unit whose watch has ended sends a burst',
    previous: seen({
      firstSeenAt: at(-2 * DAY),
      lastSeenAt: at(-3600),
      watchUntil: at(-1),
      windowStartedAt: at(-3600),
      windowPosts: 3,
    }),
    observation: traffic(300),
    held: false,
    record: { windowPosts: 0, watchUntil: undefined },
    because: /not watched/,
  },
  {
    when: 'a new unit loads in an announced silent loading period',
    previous: undefined,
    observation: traffic(10_000, { announced: true }),
    held: false,
    record: { watchUntil: undefined, windowPosts: 0 },
    because: /announced/,
  },
  {
    when: 'a held unit sends more (deletes too): everything waits with the rest',
    previous: seen({ holdStatus: 'holding', holdStartedAt: at(-300), heldPosts: 1000 }),
    observation: traffic(2, { notifications: 3 }),
    held: true,
    tripped: false,
    record: { heldPosts: 1003, lastHeldAt: T0 },
    because: /unit is held/,
  },
  {
    when: 'a held unit sends in an announced period: its hold goes on (the ingest delivers those silent, which leaves nothing to hold)',
    previous: seen({ holdStatus: 'holding', holdStartedAt: at(-300), heldPosts: 10 }),
    observation: traffic(2, { announced: true }),
    held: true,
    because: /unit is held/,
  },
  {
    when: 'a released unit sends more: messages as usual',
    previous: seen({ holdStatus: 'released', holdStartedAt: at(-3000), heldPosts: 1000 }),
    observation: traffic(200),
    held: false,
    because: /not watched/,
  },
  {
    when: 'the guard is off (threshold 0)',
    previous: undefined,
    observation: traffic(50_000),
    settings: { threshold: 0 },
    held: false,
    because: /off/,
  },
  {
    when: 'deletes only from a new unit do not count as new posts',
    previous: undefined,
    observation: traffic(0, { notifications: 400 }),
    held: false,
    because: /0 new posts in the window/,
  },
];

describe('judgeUnit (flood guard)', () => {
  it.each(rows)('When $when', (row) => {
    const decision = judgeUnit(row.previous, row.observation, { ...SETTINGS, ...row.settings });
    expect(decision.held).toBe(row.held);
    expect(decision.tripped).toBe(row.tripped ?? false);
    expect(decision.because).toMatch(row.because);
    expect(decision.record.lastSeenAt).toEqual(row.observation.at);
    for (const [key, value] of Object.entries(row.record ?? {})) {
      expect(decision.record[key as keyof UnitRecord], key).toEqual(value);
    }
  });

  it('When a burst arrives one post per call, then the call that crosses the threshold is the first one held', () => {
    let record: UnitRecord | undefined;
    const held: boolean[] = [];
    for (let i = 0; i < 60; i++) {
      const decision = judgeUnit(record, traffic(1, { at: at(i) }), SETTINGS);
      record = decision.record;
      held.push(decision.held);
    }
    expect(held.indexOf(true)).toBe(50);
    expect(held.slice(50).every(Boolean)).toBe(true);
  });
});

describe('judgeWaiting (held messages never wait silently)', () => {
  const limits = { alertMs: 4 * 3600_000, expireMs: 14 * DAY * 1000 };
  it.each([
    ['not held', { status: 'released' as const, startedAt: at(-20 * DAY) }, 'none'],
    ['held an hour', { status: 'holding' as const, startedAt: at(-3600) }, 'none'],
    ['held past the alert limit', { status: 'holding' as const, startedAt: at(-5 * 3600) }, 'alert'],
    ['held past the expiry', { status: 'holding' as const, startedAt: at(-15 * DAY) }, 'expire'],
  ])('When %s, then %s', (_when, hold, expected) => {
    expect(judgeWaiting(hold, T0, limits)).toBe(expected);
  });
});
