// The use-case rules of DOMAIN.md as pure functions: from (notification, details, stored state, held
// deletes, mode, now) to actions. No I/O here; the engine loads the inputs and applies the actions in one
// database transaction.

import type { Categorization } from '../process-notifications/index.js';
import type { HeldStatus } from './schema.js';

export type { Categorization };
export type MessageKind = import('../inbox/index.js').MessageKind;
/**
 * The source system's mode when EI delivered the notification (stamped at intake). Only `active` makes
 * messages; any other mode stores state only.
 */
export type SourceSystemMode = string;

/** The booking details as stored (JSON-safe: times as ISO instants). */
export interface BookingSnapshot {
  start?: string;
  end?: string;
  /** True when the producer gave a start/end that could not be read as a time. */
  badTime?: boolean;
  healthcareFacility: string;
  healthcareFacilityName?: string;
  performer?: string;
  performerName?: string;
  bookingId?: string;
  purpose?: string;
  reason?: string;
  resourceName?: string;
  timeTypeName?: string;
  careTypeName?: string;
  cancelBookingAllowed?: boolean;
  rebookingAllowed?: boolean;
  messageAllowed?: boolean;
  isInvitation?: boolean;
}

/** One EI post, by the fields the engine works with (keyHash is EI's nine-field key, hashed). */
export interface PostRef {
  keyHash: string;
  resident: string;
  sourceSystem: string;
  logicalAddress: string;
  bookingId: string;
  categorization: Categorization;
}

export interface StoredPost extends PostRef {
  present: boolean;
  details?: BookingSnapshot;
}

export interface HeldDelete {
  id: number;
  keyHash: string;
  logicalAddress: string;
  categorization: Categorization;
  details?: BookingSnapshot;
  deletedAt: Date;
  dueAt: Date;
}

export type DetailsResult =
  { kind: 'found'; details: BookingSnapshot } | { kind: 'not-found' } | { kind: 'subject-mismatch'; reason: string };

export interface NotificationInput {
  id: number;
  deleteFlag: boolean;
  post: PostRef;
  /** When EI delivered it: the rebooking window is measured on delivery, not on processing. */
  receivedAt: Date;
}

export interface DecisionInput {
  notification: NotificationInput;
  /** The producer's answer; undefined for a delete (the producer no longer has the booking). */
  details?: DetailsResult;
  stored?: StoredPost;
  /** Deletes held for this citizen and source system, not yet resolved. */
  held: readonly HeldDelete[];
  /** The mode the notification was delivered in (not the mode now). */
  mode: SourceSystemMode;
  now: Date;
  rebookWindowMs: number;
}

export type Action =
  | { type: 'store-post'; post: StoredPost }
  | { type: 'hold-delete'; post: PostRef; details?: BookingSnapshot; deletedAt: Date; dueAt: Date }
  | { type: 'resolve-held'; id: number; status: Exclude<HeldStatus, 'held'> }
  | { type: 'create-message'; kind: MessageKind; post: PostRef; details: BookingSnapshot; previous?: BookingSnapshot }
  | { type: 'record-care-unit'; resident: string; hsaId: string; name?: string }
  | { type: 'security-event'; kind: 'subject-of-care-mismatch'; post: PostRef; detail: string };

export interface Decision {
  actions: Action[];
  /** Why, in a few words, for logs and tests (no personal data). */
  because: string;
}

const decision = (because: string, ...actions: Action[]): Decision => ({ actions, because });

export function hasPassed(details: BookingSnapshot | undefined, now: Date): boolean {
  return details?.start !== undefined && Date.parse(details.start) < now.getTime();
}

/** Same time and place: a re-send of it is no news, and a rebooking to it is no rebooking. */
export function sameAppointment(a: BookingSnapshot, b: BookingSnapshot): boolean {
  return (
    a.start === b.start &&
    a.end === b.end &&
    a.healthcareFacility === b.healthcareFacility &&
    a.performer === b.performer &&
    a.bookingId === b.bookingId
  );
}

/** For an invitation, what it asks of the citizen counts too. */
function sameInvitation(a: BookingSnapshot, b: BookingSnapshot): boolean {
  return (
    sameAppointment(a, b) &&
    a.careTypeName === b.careTypeName &&
    a.timeTypeName === b.timeTypeName &&
    a.purpose === b.purpose &&
    a.resourceName === b.resourceName
  );
}

function message(kind: MessageKind, post: PostRef, details: BookingSnapshot, previous?: BookingSnapshot): Action[] {
  const actions: Action[] = [{ type: 'create-message', kind, post, details, ...(previous ? { previous } : {}) }];
  if (kind !== 'cancellation') {
    // An invitation or a booking message makes the care unit one of the citizen's care units.
    actions.push({
      type: 'record-care-unit',
      resident: post.resident,
      hsaId: details.healthcareFacility,
      ...(details.healthcareFacilityName ? { name: details.healthcareFacilityName } : {}),
    });
  }
  return actions;
}

/** The held delete a new post of this citizen and source system completes, if any. */
function matchingHeld(input: DecisionInput): HeldDelete | undefined {
  const { post, receivedAt } = input.notification;
  const open = input.held.filter(
    (held) => held.dueAt.getTime() > receivedAt.getTime() && held.deletedAt.getTime() <= receivedAt.getTime(),
  );
  const wanted: Categorization[] = post.categorization === 'Booking' ? ['Booking', 'Invitation'] : ['Invitation'];
  for (const categorization of wanted) {
    const candidates = open
      .filter((held) => held.categorization === categorization)
      // The same care unit first, then the latest delete.
      .sort(
        (a, b) =>
          Number(b.logicalAddress === post.logicalAddress) - Number(a.logicalAddress === post.logicalAddress) ||
          b.deletedAt.getTime() - a.deletedAt.getTime(),
      );
    if (candidates[0]) return candidates[0];
  }
  return undefined;
}

export function decide(input: DecisionInput): Decision {
  return input.notification.deleteFlag ? decideDelete(input) : decideNewOrUpdate(input);
}

function decideDelete(input: DecisionInput): Decision {
  const { post, receivedAt } = input.notification;
  const stored = input.stored;
  if (!stored || !stored.present) return decision('delete of a post not present: nothing to do');
  const gone: Action = { type: 'store-post', post: { ...stored, ...post, present: false } };
  if (input.mode !== 'active') return decision(`delivered in ${input.mode} mode: state only`, gone);
  if (post.categorization === 'Booking' && hasPassed(stored.details, input.now)) {
    return decision('booked time has passed (use case 12): no message', gone);
  }
  if (post.categorization === 'Booking' && !stored.details) {
    return decision('delete of a booking whose details were never known: no message', gone);
  }
  // Held for the window: a new post may follow (rebooking, invitation booked or replaced). A held
  // invitation is dropped silently when the window ends (use cases 5 and 13).
  return decision(`${post.categorization.toLowerCase()} delete held for the rebooking window`, gone, {
    type: 'hold-delete',
    post,
    ...(stored.details ? { details: stored.details } : {}),
    deletedAt: receivedAt,
    dueAt: new Date(receivedAt.getTime() + input.rebookWindowMs),
  });
}

function decideNewOrUpdate(input: DecisionInput): Decision {
  const { post } = input.notification;
  const result = input.details;
  if (!result) throw new Error('a new or updated post needs the producer answer');
  if (result.kind === 'subject-mismatch') {
    return decision('subject_of_care differs from the resident: nothing shown, security event', {
      type: 'security-event',
      kind: 'subject-of-care-mismatch',
      post,
      detail: result.reason,
    });
  }
  if (result.kind === 'not-found') {
    // The producer no longer has it (cancelled in between, or a retried older call): nothing to tell, and
    // never a reason to list it as upcoming. A post the citizen knows stays as it is (EI's delete will
    // follow and say it); one not present stays not present.
    if (input.stored?.present) return decision('producer does not have the booking: no message, state unchanged');
    return decision('producer does not have the booking: no message, not present', {
      type: 'store-post',
      post: { ...post, present: false, ...(input.stored?.details ? { details: input.stored.details } : {}) },
    });
  }
  const details = result.details;
  const store: Action = { type: 'store-post', post: { ...post, present: true, details } };
  if (input.mode !== 'active') return decision(`delivered in ${input.mode} mode: state only`, store);

  const stored = input.stored;
  if (stored?.present && stored.details) {
    // An update of a post the citizen already knows (use cases 6, 9 and 11 as an update).
    const same = post.categorization === 'Invitation' ? sameInvitation : sameAppointment;
    if (same(stored.details, details)) return decision('unchanged post (redelivery or reload): no message', store);
    if (hasPassed(details, input.now)) return decision('time has passed: no message', store);
    if (post.categorization === 'Invitation') {
      return decision(
        'invitation changed (use case 11)',
        store,
        ...message('invitation_updated', post, details, stored.details),
      );
    }
    if (sameAppointment({ ...stored.details, bookingId: details.bookingId }, details)) {
      return decision('booking changed but not its time or place: no message', store);
    }
    return decision(
      'booking rebooked, same id (use cases 6, 9)',
      store,
      ...message('rebooking', post, details, stored.details),
    );
  }

  if (hasPassed(details, input.now)) {
    // A new post at a time already passed is no rebooking: a delete held in its window stays held and
    // becomes a cancellation when the window ends (the citizen must hear that the booked time is gone).
    return decision('time has passed: no message (a held delete stays held)', store);
  }
  const held = matchingHeld(input);
  if (held) {
    const merged: Action = { type: 'resolve-held', id: held.id, status: 'merged' };
    if (post.categorization === 'Booking' && held.categorization === 'Booking') {
      if (held.details && sameAppointment({ ...held.details, bookingId: details.bookingId }, details)) {
        return decision('deleted and added again unchanged (reload): no message', store, merged);
      }
      return decision(
        'delete + new booking (use cases 7, 10): one rebooking',
        store,
        merged,
        ...message('rebooking', post, details, held.details),
      );
    }
    if (post.categorization === 'Booking') {
      return decision(
        'invitation booked (use case 8): confirmation only',
        store,
        merged,
        ...message('booking_confirmation', post, details),
      );
    }
    if (held.details && sameInvitation({ ...held.details, bookingId: details.bookingId }, details)) {
      return decision('invitation deleted and added again unchanged (reload): no message', store, merged);
    }
    return decision(
      'invitation replaced (use case 11)',
      store,
      merged,
      ...message('invitation_updated', post, details, held.details),
    );
  }
  if (post.categorization === 'Invitation')
    return decision('new invitation (use case 1)', store, ...message('invitation', post, details));
  return decision('new booking (use case 2)', store, ...message('booking_confirmation', post, details));
}

/** What a held delete becomes when its window ends without a new post (use cases 3, 4, 5, 13). */
export function decideRelease(held: HeldDelete & { post: PostRef }, now: Date): Decision {
  if (held.categorization === 'Invitation') {
    return decision('invitation withdrawn or expired (use cases 5, 13): no message', {
      type: 'resolve-held',
      id: held.id,
      status: 'dropped',
    });
  }
  if (!held.details || hasPassed(held.details, now)) {
    return decision('cancelled time has passed: no message', { type: 'resolve-held', id: held.id, status: 'dropped' });
  }
  return decision(
    'booking cancelled (use cases 3, 4)',
    { type: 'resolve-held', id: held.id, status: 'released' },
    ...message('cancellation', held.post, held.details),
  );
}
