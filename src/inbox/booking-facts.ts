// What a citizen is shown about a booking besides its time and place, the same in a message and in the
// list of upcoming bookings: absent values are null, permissions false unless the producer allows.
import type { BookingSnapshot } from '../message-engine/index.js';

export interface BookingFacts {
  purpose: string | null;
  reason: string | null;
  careTypeName: string | null;
  timeTypeName: string | null;
  performerName: string | null;
  resourceName: string | null;
  cancelAllowed: boolean;
  rebookAllowed: boolean;
  messageAllowed: boolean;
}

export function bookingFacts(details: BookingSnapshot): BookingFacts {
  return {
    purpose: details.purpose ?? null,
    reason: details.reason ?? null,
    careTypeName: details.careTypeName ?? null,
    timeTypeName: details.timeTypeName ?? null,
    performerName: details.performerName ?? null,
    resourceName: details.resourceName ?? null,
    cancelAllowed: details.cancelBookingAllowed ?? false,
    rebookAllowed: details.rebookingAllowed ?? false,
    messageAllowed: details.messageAllowed ?? false,
  };
}
