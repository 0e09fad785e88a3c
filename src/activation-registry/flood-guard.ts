// The flood guard's rule, as a pure function: should what a care unit just sent be held back?
// A care unit that nobody announced (no silent loading period, its system not silent) and that is new
// here, or back after a long silence, is watched for a while; if it sends more new posts within one
// window than the threshold, it is "held": its notifications are processed and stored, but their messages
// wait (not shown, not notified) until an administrator releases or drops them. Table-tested in
// test/activation-registry/flood-guard.test.ts; guard-store.ts applies it to the database.

export const HOLD_STATUSES = [
  'holding', // messages are held; waiting for an administrator
  'released', // an administrator released them: they became messages
  'dropped', // an administrator dropped them: state kept, no messages
  'expired', // nobody decided within FLOOD_GUARD_EXPIRE_DAYS: dropped by the service
] as const;
export type HoldStatus = (typeof HOLD_STATUSES)[number];

export interface GuardSettings {
  /** More new posts than this within one window trip the guard; 0: the guard is off. */
  threshold: number;
  windowMs: number;
  /** How long a new (or returning) unit is watched. */
  watchMs: number;
  /** Silent this long: watched again on return, like a new unit. */
  dormantMs: number;
}

/** What the guard remembers of one care unit. */
export interface UnitRecord {
  firstSeenAt: Date;
  lastSeenAt: Date;
  watchUntil?: Date;
  windowStartedAt?: Date;
  windowPosts: number;
  holdStatus?: HoldStatus;
  holdStartedAt?: Date;
  /** Notifications delivered while this hold lasts. */
  heldPosts: number;
  lastHeldAt?: Date;
}

/** What one ProcessNotification call brought from one care unit. */
export interface Observation {
  at: Date;
  /** New or updated posts (not deletes): what a bulk load consists of. */
  newPosts: number;
  /** All accepted transactions of the unit in the call (deletes too). */
  notifications: number;
  /** Announced: a silent loading period of the unit, or its source system in silent mode. */
  announced: boolean;
}

export interface GuardDecision {
  record: UnitRecord;
  /** The call's notifications of this unit are held. */
  held: boolean;
  /** This call started the hold. */
  tripped: boolean;
  /** Why, in a few words (logs, tests). */
  because: string;
}

export function judgeUnit(
  previous: UnitRecord | undefined,
  observation: Observation,
  settings: GuardSettings,
): GuardDecision {
  const { at } = observation;
  const seen: UnitRecord = previous
    ? { ...previous, lastSeenAt: at }
    : { firstSeenAt: at, lastSeenAt: at, windowPosts: 0, heldPosts: 0 };
  const result = (record: UnitRecord, held: boolean, because: string, tripped = false): GuardDecision => ({
    record,
    held,
    tripped,
    because,
  });
  const notWatched = (record: UnitRecord): UnitRecord => {
    const { watchUntil: _watch, windowStartedAt: _window, ...rest } = record;
    return { ...rest, windowPosts: 0 };
  };

  if (previous?.holdStatus === 'holding') {
    // Everything of a held unit waits with the rest, deletes and updates too, so that the order holds.
    return result(
      { ...seen, heldPosts: seen.heldPosts + observation.notifications, lastHeldAt: at },
      true,
      'unit is held: waiting for an administrator',
    );
  }
  if (settings.threshold === 0) return result(notWatched(seen), false, 'flood guard off');
  if (observation.announced) {
    // An announced load is no surprise, and a unit that loaded is known afterwards.
    return result(notWatched(seen), false, 'announced (silent loading or silent source system)');
  }

  let record = seen;
  const dormant = previous !== undefined && at.getTime() - previous.lastSeenAt.getTime() >= settings.dormantMs;
  if (!previous || dormant) {
    record = { ...record, watchUntil: new Date(at.getTime() + settings.watchMs), windowStartedAt: at, windowPosts: 0 };
  }
  if (!record.watchUntil || record.watchUntil.getTime() <= at.getTime()) {
    return result(notWatched(record), false, 'known care unit: not watched');
  }
  if (!record.windowStartedAt || at.getTime() - record.windowStartedAt.getTime() >= settings.windowMs) {
    record = { ...record, windowStartedAt: at, windowPosts: 0 };
  }
  record = { ...record, windowPosts: record.windowPosts + observation.newPosts };
  if (record.windowPosts > settings.threshold) {
    return result(
      { ...record, holdStatus: 'holding', holdStartedAt: at, heldPosts: observation.notifications, lastHeldAt: at },
      true,
      `${!previous ? 'new' : dormant ? 'returning' : 'watched'} care unit sent ` +
        `${record.windowPosts} new posts within the window (threshold ${settings.threshold}): held`,
      true,
    );
  }
  return result(
    record,
    false,
    `${!previous ? 'new' : dormant ? 'returning' : 'watched'} care unit, ${record.windowPosts} ` +
      `new posts in the window: below the threshold`,
  );
}

/** What a unit's hold needs now: nothing, an alert (waiting too long), or to expire. */
export function judgeWaiting(
  hold: { status: HoldStatus | undefined; startedAt?: Date },
  now: Date,
  limits: { alertMs: number; expireMs: number },
): 'none' | 'alert' | 'expire' {
  if (hold.status !== 'holding' || !hold.startedAt) return 'none';
  const waited = now.getTime() - hold.startedAt.getTime();
  if (waited >= limits.expireMs) return 'expire';
  if (waited >= limits.alertMs) return 'alert';
  return 'none';
}
