// What the details fetcher offers the rest of the service: GetBookingDetails as a typed value, and
// every failure classified so that the message engine can act on it without knowing SOAP.

/** One timeslotDetail, parsed. Optional fields are absent, never empty strings. */
export interface BookingDetails {
  /** startTimeInclusive as an instant (the producer's TS is Swedish local time). */
  start?: Date;
  /** endTimeExclusive as an instant. */
  end?: Date;
  /** The raw TS values, kept for rules that must tell a missing time from a badly formatted one. */
  startRaw?: string;
  endRaw?: string;
  healthcareFacility: string;
  healthcareFacilityName?: string;
  performer?: string;
  performerName?: string;
  bookingId?: string;
  subjectOfCare?: string;
  purpose?: string;
  reason?: string;
  resourceName?: string;
  resourceId?: string;
  timeTypeName?: string;
  timeTypeId?: string;
  careTypeName?: string;
  careTypeId?: string;
  cancelBookingAllowed?: boolean;
  rebookingAllowed?: boolean;
  messageAllowed?: boolean;
  /** From the 1.1 extension namespace (urn:riv:crm:scheduling:1.1). */
  isInvitation?: boolean;
}

export interface DetailsRequest {
  /** engagement.logicalAddress: the care unit's HSA-id, sent as the LogicalAddress header and healthcare_facility. */
  logicalAddress: string;
  /** engagement.businessObjectInstanceIdentifier. */
  bookingId: string;
  /** engagement.registeredResidentIdentification: the Actor (subject_of_care) and the expected subject_of_care. */
  resident: string;
}

/** The kinds of DetailsOutcome, as one list (the metrics label their counts by these). */
export const DETAILS_OUTCOME_KINDS = [
  'found',
  'not-found',
  'subject-mismatch',
  'malformed',
  'transient',
  'configuration',
] as const;

export type DetailsOutcome =
  | { kind: 'found'; details: BookingDetails }
  /** The producer does not have the booking (permanent). */
  | { kind: 'not-found'; reason: string }
  /** The answer names another person than the resident: show nothing, record a security event. */
  | { kind: 'subject-mismatch'; reason: string }
  /** The answer could not be read as a GetBookingDetailsResponse (permanent). */
  | { kind: 'malformed'; reason: string }
  /** Worth trying again soon: network, timeout, HTTP 5xx, VP009, other faults, open circuit. */
  | {
      kind: 'transient';
      reason: string;
      retryAfterMs?: number;
      /** The call was not made (open circuit, no free slot, closed): it is no try at the producer. */
      notSent?: true;
      /** The producer answered with a SOAP fault about this booking: it is alive, its breaker is not moved. */
      perBooking?: true;
    }
  /**
   * The platform is not set up for this address (VP004 no route, VP007 not authorised): retry slowly, tell
   * operators.
   */
  | { kind: 'configuration'; code: string; reason: string; retryAfterMs?: number };

/**
 * The per-care-unit call cap a fetcher keeps (NTJP_MAX_CALLS_PER_SECOND), so that callers can size their work to it.
 */
export interface CallPace {
  /** Calls started per second to one logical address at most. */
  callsPerSecondPerAddress: number;
  /** The longest a call waits for its turn under the cap; one that would wait longer is not sent. */
  maxWaitMs: number;
}

export interface DetailsFetcher {
  fetch(request: DetailsRequest): Promise<DetailsOutcome>;
  close(): Promise<void>;
  /** Absent: no cap on calls per care unit. */
  readonly pace?: CallPace;
}

// The list and the union name the same kinds (a kind added to one only does not compile).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const outcomeKindsMatch: Same<DetailsOutcome['kind'], (typeof DETAILS_OUTCOME_KINDS)[number]> = true;
void outcomeKindsMatch;
