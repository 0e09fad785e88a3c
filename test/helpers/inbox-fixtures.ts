// Puts messages, stored EI posts and care-unit relations straight into a test database, as the message
// engine would in production, so that the citizen's API and pages can be tested on their own.
import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/db/database.js';
import type { BookingSnapshot, MessageKind } from '../../src/message-engine/decide.js';
import { bookingPosts, careUnitRelations, inboxMessages } from '../../src/inbox/schema.js';

export const CITIZEN_A = '191212121212';
export const CITIZEN_B = '199001012384';

export interface MessageFixture {
  resident: string;
  kind?: MessageKind;
  subject?: string;
  body?: string;
  careUnitHsaId?: string;
  careUnitName?: string | null;
  booking?: Record<string, unknown>;
  createdAt?: Date;
  readAt?: Date | null;
  deletedAt?: Date | null;
}

export function bookingJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    bookingId: `B-${randomUUID().slice(0, 8)}`,
    categorization: 'Booking',
    start: '2031-03-04T13:30:00.000Z',
    end: '2031-03-04T14:00:00.000Z',
    careTypeName: 'Läkarbesök',
    timeTypeName: 'Mottagningsbesök',
    performerName: 'Doktor Andersson',
    resourceName: 'Rum 3',
    cancelAllowed: true,
    rebookAllowed: false,
    messageAllowed: false,
    ...overrides,
  };
}

/** Inserts one message; answers its id. */
export async function insertMessage(database: Pick<Database, 'orm'>, fixture: MessageFixture): Promise<number> {
  const [row] = await database.orm
    .insert(inboxMessages)
    .values({
      resident: fixture.resident,
      kind: fixture.kind ?? 'booking_confirmation',
      subject: fixture.subject ?? 'Bokningsbekräftelse från Vårdcentralen Test',
      body: fixture.body ?? 'Hej!\n\nDu har bokat en tid.',
      careUnitHsaId: fixture.careUnitHsaId ?? 'SE2321000016-TEST',
      careUnitName: fixture.careUnitName === undefined ? 'Vårdcentralen Test' : fixture.careUnitName,
      booking: fixture.booking ?? bookingJson(),
      keyHash: `key-${randomUUID()}`,
      cause: `test:${randomUUID()}`,
      ...(fixture.createdAt && { createdAt: fixture.createdAt }),
      readAt: fixture.readAt ?? null,
      deletedAt: fixture.deletedAt ?? null,
    })
    .returning({ id: inboxMessages.id });
  return Number(row!.id);
}

export interface PostFixture {
  resident: string;
  bookingId?: string;
  categorization?: 'Booking' | 'Invitation';
  present?: boolean;
  details?: Partial<BookingSnapshot> | null;
}

/** Inserts one stored EI post (`booking_post`), as the engine keeps them. */
export async function insertBookingPost(database: Pick<Database, 'orm'>, fixture: PostFixture): Promise<void> {
  const details =
    fixture.details === null
      ? null
      : ({
          healthcareFacility: 'SE2321000016-TEST',
          healthcareFacilityName: 'Vårdcentralen Test',
          ...fixture.details,
        } as BookingSnapshot);
  await database.orm.insert(bookingPosts).values({
    keyHash: `key-${randomUUID()}`,
    resident: fixture.resident,
    sourceSystem: 'SE-TEST-PAS',
    logicalAddress: details?.healthcareFacility || 'SE2321000016-TEST',
    bookingId: fixture.bookingId ?? `B-${randomUUID().slice(0, 8)}`,
    categorization: fixture.categorization ?? 'Booking',
    present: fixture.present ?? true,
    details,
    startAt:
      details?.start && !details.badTime && !Number.isNaN(Date.parse(details.start)) ? new Date(details.start) : null,
  });
}

export async function insertCareUnitRelation(
  database: Pick<Database, 'orm'>,
  fixture: { resident: string; hsaId: string; name?: string | null; firstAt?: Date; lastAt?: Date },
): Promise<void> {
  await database.orm.insert(careUnitRelations).values({
    resident: fixture.resident,
    careUnitHsaId: fixture.hsaId,
    careUnitName: fixture.name ?? null,
    ...(fixture.firstAt && { firstAt: fixture.firstAt }),
    ...(fixture.lastAt && { lastAt: fixture.lastAt }),
  });
}
