// EI's field rules and the post key, as pure functions (table-driven).
import { describe, expect, it } from 'vitest';
import {
  checkTransaction,
  isBookingDomain,
  isValidTimestamp,
  postKeyHash,
  sequenceHash,
  transactionState,
  type Engagement,
} from '../../src/process-notifications/engagement.js';
import type { RawTransaction } from '../../src/process-notifications/envelope-parser.js';

describe('isValidTimestamp', () => {
  const cases: [string, boolean, string][] = [
    ['20261122093000', true, 'an ordinary time'],
    ['20240229120000', true, 'Feb 29 in a leap year'],
    ['20230229120000', false, 'Feb 29 in a common year'],
    ['20000229000000', true, 'Feb 29 in a year divisible by 400'],
    ['19000229000000', false, 'Feb 29 in a century year not divisible by 400'],
    ['21000229000000', false, 'Feb 29 in 2100'],
    ['20240230000000', false, 'Feb 30'],
    ['20260431000000', false, 'Apr 31'],
    ['20261231235959', true, 'the last second of a year'],
    ['20260101000000', true, 'the first second of a year'],
    ['20261301000000', false, 'month 13'],
    ['20260001000000', false, 'month 0'],
    ['20260100000000', false, 'day 0'],
    ['20260132000000', false, 'day 32'],
    ['20261122240000', false, 'hour 24'],
    ['20261122236000', false, 'minute 60'],
    ['20261122235960', false, 'second 60 (no leap seconds in TS)'],
    ['2026112209300', false, '13 digits'],
    ['202611220930000', false, '15 digits'],
    ['2026-11-22T09:30', false, 'ISO form'],
    ['2026112209300a', false, 'a letter'],
    ['02026112209300', false, 'a leading zero year'],
    [' 20261122093000', false, 'leading white space'],
    ['', false, 'empty'],
  ];
  it.each(cases)('When the value is %s, then it is valid: %s (%s)', (value, valid) => {
    expect(isValidTimestamp(value)).toBe(valid);
  });
});

const FIELDS: Record<string, string> = {
  registeredResidentIdentification: '191212121212',
  serviceDomain: 'riv:crm:scheduling',
  categorization: 'Booking',
  logicalAddress: 'SE1623210002-VC7',
  businessObjectInstanceIdentifier: 'BOK-1',
  clinicalProcessInterestId: 'NA',
  sourceSystem: 'SE1623210002-COSMIC',
  dataController: '162321000255',
};

function raw(overrides: Partial<RawTransaction> = {}, fields: Record<string, string | undefined> = {}): RawTransaction {
  const merged = Object.fromEntries(
    Object.entries({ ...FIELDS, ...fields }).filter(([, value]) => value !== undefined),
  );
  return { position: 1, deleteFlag: 'false', hasEngagement: true, problems: [], fields: merged, ...overrides };
}

describe('checkTransaction', () => {
  const rejected: [string, RawTransaction, string, RegExp][] = [
    ['a structural problem', raw({ problems: ['unexpected element x'] }), 'schema', /unexpected element x/],
    ['no deleteFlag', raw({ deleteFlag: undefined }), 'missing-field', /deleteFlag is missing/],
    ['deleteFlag "yes"', raw({ deleteFlag: 'yes' }), 'invalid-delete-flag', /true or false/],
    ['no engagement', raw({ hasEngagement: false, fields: {} }), 'missing-field', /engagement is missing/],
    ['no sourceSystem', raw({}, { sourceSystem: undefined }), 'missing-field', /sourceSystem is missing/],
    ['an empty dataController', raw({}, { dataController: '' }), 'missing-field', /dataController is missing or empty/],
    ['owner over 64', raw({}, { owner: 'o'.repeat(65) }), 'too-long', /owner is longer than 64/],
    [
      'resident with a dash',
      raw({}, { registeredResidentIdentification: '19121212-1212' }),
      'invalid-resident',
      /12 characters/,
    ],
    [
      'resident of 10 digits',
      raw({}, { registeredResidentIdentification: '1212121212' }),
      'invalid-resident',
      /12 characters/,
    ],
    ['an empty updateTime', raw({}, { updateTime: '' }), 'invalid-time', /updateTime is empty/],
    [
      'creationTime Feb 29 2025',
      raw({}, { creationTime: '20250229120000' }),
      'invalid-time',
      /creationTime must be a valid time/,
    ],
  ];
  it.each(rejected)('When a transaction has %s, then it is rejected with code %s', (_name, input, code, reason) => {
    const check = checkTransaction(input);
    expect(check).toMatchObject({ ok: false, code });
    if (!check.ok) expect(check.reason).toMatch(reason);
  });

  const accepted: [string, RawTransaction, boolean][] = [
    ['deleteFlag "1"', raw({ deleteFlag: '1' }), true],
    ['deleteFlag "0"', raw({ deleteFlag: '0' }), false],
    ['a coordination number (P in position 9)', raw({}, { registeredResidentIdentification: '19121212P212' }), false],
    ['a leap-day mostRecentContent', raw({}, { mostRecentContent: '20240229235959' }), false],
  ];
  it.each(accepted)('When a transaction has %s, then it is accepted', (_name, input, deleteFlag) => {
    const check = checkTransaction(input);
    expect(check).toMatchObject({ ok: true, transaction: { deleteFlag } });
  });

  it('When optional fields are absent, then the typed engagement leaves them out', () => {
    const check = checkTransaction(raw());
    expect(check.ok && Object.keys(check.transaction.engagement).sort()).toEqual(Object.keys(FIELDS).sort());
  });
});

describe('post key and hashes', () => {
  const base: Engagement = { ...(FIELDS as unknown as Engagement), mostRecentContent: '20261122093000' };

  it('When only times change, then the post key stays and the transaction state changes', () => {
    const later = { ...base, mostRecentContent: '20261122100000', updateTime: '20261122100000' };
    expect(postKeyHash(later)).toBe(postKeyHash(base));
    expect(transactionState({ deleteFlag: false, engagement: later })).not.toBe(
      transactionState({ deleteFlag: false, engagement: base }),
    );
  });

  // Each time may be absent; which one is given must still tell states apart.
  const times: [Partial<Engagement>, Partial<Engagement>][] = [
    [{ mostRecentContent: '20261122100000' }, { creationTime: '20261122100000' }],
    [{ creationTime: '20261122100000' }, { updateTime: '20261122100000' }],
    [
      { mostRecentContent: '20261122100000', updateTime: undefined },
      { mostRecentContent: undefined, updateTime: '20261122100000' },
    ],
  ];
  it.each(times)('When the same time moves to another field (%o vs %o), then the states differ', (a, b) => {
    const of = (times: Partial<Engagement>) =>
      transactionState({ deleteFlag: false, engagement: { ...base, mostRecentContent: undefined, ...times } });
    expect(of(a)).not.toBe(of(b));
  });

  it('When a state is built, then it holds only the flag and the times, no personal data', () => {
    expect(transactionState({ deleteFlag: true, engagement: { ...base, updateTime: '20261122100000' } })).toBe(
      'D20261122093000-20261122100000',
    );
  });

  const keyFields: (keyof Engagement)[] = [
    'registeredResidentIdentification',
    'serviceDomain',
    'categorization',
    'logicalAddress',
    'businessObjectInstanceIdentifier',
    'sourceSystem',
    'dataController',
    'owner',
    'clinicalProcessInterestId',
  ];
  it.each(keyFields)('When %s changes, then it is another post', (field) => {
    expect(postKeyHash({ ...base, [field]: 'changed' })).not.toBe(postKeyHash(base));
  });

  it('When values would run together, then the key still tells them apart', () => {
    expect(postKeyHash({ ...base, logicalAddress: 'AB', businessObjectInstanceIdentifier: 'C' })).not.toBe(
      postKeyHash({ ...base, logicalAddress: 'A', businessObjectInstanceIdentifier: 'BC' }),
    );
  });

  it('When a post is deleted, then its transaction state differs from its creation', () => {
    expect(transactionState({ deleteFlag: true, engagement: base })).not.toBe(
      transactionState({ deleteFlag: false, engagement: base }),
    );
  });

  it('When a sequence is create-delete-create, then its fingerprint differs from a single create and keeps order', () => {
    const create = transactionState({ deleteFlag: false, engagement: base });
    const remove = transactionState({ deleteFlag: true, engagement: base });
    expect(sequenceHash([create])).toBe(create);
    expect(sequenceHash([create, remove, create])).not.toBe(create);
    expect(sequenceHash([create, remove, create])).toHaveLength(32);
    expect(sequenceHash([create, remove])).not.toBe(sequenceHash([remove, create]));
  });

  const domains: [string, string, boolean][] = [
    ['riv:crm:scheduling', 'Booking', true],
    ['riv:crm:scheduling', 'Invitation', true],
    ['riv:crm:scheduling', 'booking', false],
    ['riv:crm:scheduling', 'Referral', false],
    ['riv:clinicalprocess:activity:request', 'Booking', false],
  ];
  it.each(domains)(
    'When the domain is %s and the categorization %s, then it is ours: %s',
    (serviceDomain, categorization, ours) => {
      expect(isBookingDomain({ ...base, serviceDomain, categorization })).toBe(ours);
    },
  );
});
