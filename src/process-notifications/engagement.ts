// EI's engagement transaction: the typed value, EI's field rules, and the post key.
import { createHash } from 'node:crypto';
import { ENGAGEMENT_FIELDS, type EngagementField, type RawTransaction } from './envelope-parser.js';

export interface Engagement {
  registeredResidentIdentification: string;
  serviceDomain: string;
  categorization: string;
  logicalAddress: string;
  businessObjectInstanceIdentifier: string;
  clinicalProcessInterestId: string;
  mostRecentContent?: string;
  sourceSystem: string;
  creationTime?: string;
  updateTime?: string;
  dataController: string;
  owner?: string;
}

export interface EngagementTransaction {
  deleteFlag: boolean;
  engagement: Engagement;
}

export type RejectionCode =
  'schema' | 'missing-field' | 'too-long' | 'invalid-resident' | 'invalid-time' | 'invalid-delete-flag';

export type TransactionCheck =
  { ok: true; transaction: EngagementTransaction } | { ok: false; code: RejectionCode; reason: string };

export const BOOKING_SERVICE_DOMAIN = 'riv:crm:scheduling';
/** EI's categorizations of the booking service domain: a booked time, or an invitation ("kallelse"). */
export const CATEGORIZATIONS = ['Booking', 'Invitation'] as const;
export type Categorization = (typeof CATEGORIZATIONS)[number];
export const BOOKING_CATEGORIZATIONS: ReadonlySet<string> = new Set(CATEGORIZATIONS);

// The fields EI may leave out (the optional members of Engagement); every other one is mandatory.
const OPTIONAL: ReadonlySet<EngagementField> = new Set(['mostRecentContent', 'creationTime', 'updateTime', 'owner']);
const MANDATORY: readonly EngagementField[] = ENGAGEMENT_FIELDS.filter((field) => !OPTIONAL.has(field));

// EI's own limits on the engagement fields (CONTRACT §2).
const MAX_LENGTH: Record<EngagementField, number> = {
  registeredResidentIdentification: 32,
  serviceDomain: 255,
  categorization: 255,
  logicalAddress: 64,
  businessObjectInstanceIdentifier: 128,
  clinicalProcessInterestId: 128,
  mostRecentContent: 14,
  sourceSystem: 64,
  creationTime: 14,
  updateTime: 14,
  dataController: 64,
  owner: 64,
};

const TIME_FIELDS: readonly EngagementField[] = ['mostRecentContent', 'creationTime', 'updateTime'];
const RESIDENT_PATTERN = /^[0-9]{8}[0-9pPtTfF][0-9]{3}$/;

/** Applies the schema's and EI's field rules to one transaction as read. */
export function checkTransaction(raw: RawTransaction): TransactionCheck {
  if (raw.problems.length > 0) return { ok: false, code: 'schema', reason: raw.problems.join('; ') };
  if (raw.deleteFlag === undefined) return { ok: false, code: 'missing-field', reason: 'deleteFlag is missing' };
  const deleteFlag = parseBoolean(raw.deleteFlag);
  if (deleteFlag === undefined) {
    return { ok: false, code: 'invalid-delete-flag', reason: 'deleteFlag must be true or false' };
  }
  if (!raw.hasEngagement) return { ok: false, code: 'missing-field', reason: 'engagement is missing' };
  const fields = raw.fields;
  for (const name of MANDATORY) {
    if (fields[name] === undefined || fields[name] === '') {
      return { ok: false, code: 'missing-field', reason: `${name} is missing or empty` };
    }
  }
  for (const key in fields) {
    const name = key as EngagementField;
    const value = fields[name]!;
    if (value.length > MAX_LENGTH[name]) {
      return { ok: false, code: 'too-long', reason: `${name} is longer than ${MAX_LENGTH[name]} characters` };
    }
  }
  if (!RESIDENT_PATTERN.test(fields.registeredResidentIdentification!)) {
    return {
      ok: false,
      code: 'invalid-resident',
      reason: 'registeredResidentIdentification must be 12 characters: 8 digits, a digit or P/T/F, 3 digits',
    };
  }
  for (const name of TIME_FIELDS) {
    const value = fields[name];
    if (value === '') {
      return { ok: false, code: 'invalid-time', reason: `${name} is empty; leave it out or give YYYYMMDDhhmmss` };
    }
    if (value !== undefined && !isValidTimestamp(value)) {
      return { ok: false, code: 'invalid-time', reason: `${name} must be a valid time YYYYMMDDhhmmss` };
    }
  }
  const engagement: Engagement = {
    registeredResidentIdentification: fields.registeredResidentIdentification!,
    serviceDomain: fields.serviceDomain!,
    categorization: fields.categorization!,
    logicalAddress: fields.logicalAddress!,
    businessObjectInstanceIdentifier: fields.businessObjectInstanceIdentifier!,
    clinicalProcessInterestId: fields.clinicalProcessInterestId!,
    sourceSystem: fields.sourceSystem!,
    dataController: fields.dataController!,
  };
  if (fields.mostRecentContent) engagement.mostRecentContent = fields.mostRecentContent;
  if (fields.creationTime) engagement.creationTime = fields.creationTime;
  if (fields.updateTime) engagement.updateTime = fields.updateTime;
  if (fields.owner) engagement.owner = fields.owner;
  return { ok: true, transaction: { deleteFlag, engagement } };
}

function parseBoolean(value: string): boolean | undefined {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** RIVTA TS: YYYYMMDDhhmmss, a real calendar date and time of day. */
export function isValidTimestamp(value: string): boolean {
  if (!/^[1-9][0-9]{13}$/.test(value)) return false;
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(4, 6));
  const day = Number(value.slice(6, 8));
  const hour = Number(value.slice(8, 10));
  const minute = Number(value.slice(10, 12));
  const second = Number(value.slice(12, 14));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1]!;
  return day <= days;
}

/** Is this transaction of our domain (bookings and invitations)? */
export function isBookingDomain(engagement: Engagement): boolean {
  return engagement.serviceDomain === BOOKING_SERVICE_DOMAIN && BOOKING_CATEGORIZATIONS.has(engagement.categorization);
}

function digest(parts: readonly (string | undefined)[]): string {
  // \u001f (unit separator) cannot occur in the values' XML text, so the join is unambiguous.
  return createHash('sha256')
    .update(parts.map((part) => part ?? '').join('\u001f'))
    .digest('base64url')
    .slice(0, 32);
}

/** EI's key of a post: the nine fields that name one booking or invitation in EI. */
export function postKeyHash(e: Engagement): string {
  return digest([
    e.registeredResidentIdentification,
    e.serviceDomain,
    e.categorization,
    e.logicalAddress,
    e.businessObjectInstanceIdentifier,
    e.sourceSystem,
    e.dataController,
    e.owner,
    e.clinicalProcessInterestId,
  ]);
}

/**
 * What one transaction says about its post beyond the key: delete or update, and its times. Within a
 * post this tells its transactions apart, and an unchanged re-send gives the same text. Not hashed (one
 * hash less per transaction): the times are validated 14-digit values, so the text is short, unambiguous
 * ('-' for an absent time) and holds no personal data.
 */
export function transactionState(t: EngagementTransaction): string {
  const e = t.engagement;
  return `${t.deleteFlag ? 'D' : 'U'}${e.mostRecentContent ?? '-'}${e.creationTime ?? '-'}${e.updateTime ?? '-'}`;
}

/**
 * The fingerprint of what one call says about one post, in order: the single transaction's state as it
 * is (43 characters), or a hash of several (32 characters, so the two forms never meet).
 */
export function sequenceHash(transactionStates: readonly string[]): string {
  return transactionStates.length === 1 ? transactionStates[0]! : digest(transactionStates);
}
