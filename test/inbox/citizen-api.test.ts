// The citizen's JSON API against the real app and a real database: messages, pages, read, delete,
// bookings, care units, and isolation between two citizens.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevelopmentToken } from '../../src/auth/index.js';
import { rows } from '../../src/db/database.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import {
  bookingJson,
  CITIZEN_A,
  CITIZEN_B,
  insertBookingPost,
  insertCareUnitRelation,
  insertMessage,
} from '../helpers/inbox-fixtures.js';

let t: TestApp;
let tokenA: string;
let tokenB: string;

beforeAll(async () => {
  t = await startTestApp();
  tokenA = await signDevelopmentToken(t.app.config, 'citizen', CITIZEN_A);
  tokenB = await signDevelopmentToken(t.app.config, 'citizen', CITIZEN_B);
});
afterAll(async () => {
  await t?.close();
});

async function call(
  token: string | undefined,
  method: string,
  path: string,
): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${t.url}${path}`, {
    method,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const text = await response.text();
  // `any`: the tests read whatever JSON came back and assert on it.
  let body: any = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    /* not JSON: kept as text so the assertion shows it */
  }
  return { status: response.status, body, headers: response.headers };
}

describe('Messages', () => {
  const resident = '194001019876';
  let token: string;
  const ids: number[] = [];

  beforeAll(async () => {
    token = await signDevelopmentToken(t.app.config, 'citizen', resident);
    for (let i = 1; i <= 5; i++) {
      ids.push(
        await insertMessage(t.database, {
          resident,
          subject: `Meddelande ${i}`,
          readAt: i === 1 ? new Date('2026-01-01T00:00:00Z') : null,
        }),
      );
    }
    await insertMessage(t.database, { resident, subject: 'Borttaget', deletedAt: new Date() });
  });

  it('When a citizen lists their messages, then they come newest first with the unread count, deleted ones left out', async () => {
    const { status, body, headers } = await call(token, 'GET', '/api/inbox/messages');
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body.items.map((m: { subject: string }) => m.subject)).toEqual([
      'Meddelande 5',
      'Meddelande 4',
      'Meddelande 3',
      'Meddelande 2',
      'Meddelande 1',
    ]);
    expect(body.unreadCount).toBe(4);
    expect(body.nextCursor).toBeNull();
    expect(body.items[0]).toMatchObject({
      id: ids[4],
      kind: 'booking_confirmation',
      readAt: null,
      careUnit: { hsaId: 'SE2321000016-TEST', name: 'Vårdcentralen Test' },
      booking: {
        categorization: 'Booking',
        start: '2031-03-04T13:30:00.000Z',
        cancelAllowed: true,
        rebookAllowed: false,
      },
    });
    expect(new Date(body.items[0].createdAt).toISOString()).toBe(body.items[0].createdAt);
  });

  it('When a citizen pages with limit 2, then the cursor walks every message once and the last page has no cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
      const { status, body } = await call(token, 'GET', `/api/inbox/messages${query}`);
      expect(status).toBe(200);
      const pageSize = body.items.length;
      expect(pageSize).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((m: { subject: string }) => m.subject));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(['Meddelande 5', 'Meddelande 4', 'Meddelande 3', 'Meddelande 2', 'Meddelande 1']);
  });

  it('When the limit or the cursor is bad, then the answer is 400 with a JSON error', async () => {
    for (const query of ['?limit=0', '?limit=101', '?limit=abc', '?limit=1&limit=2']) {
      const { status, body } = await call(token, 'GET', `/api/inbox/messages${query}`);
      expect(status, query).toBe(400);
      expect(body.error.code).toBe('invalid_request');
    }
    for (const cursor of ['nonsense', 'a.b', `${Buffer.from('{"v":1,"before":3}').toString('base64url')}.forged`]) {
      const { status, body } = await call(token, 'GET', `/api/inbox/messages?cursor=${encodeURIComponent(cursor)}`);
      expect(status, cursor).toBe(400);
      expect(body.error.code).toBe('invalid_cursor');
    }
  });

  it('When a citizen reads one message, then it is answered without being marked read', async () => {
    const { status, body } = await call(token, 'GET', `/api/inbox/messages/${ids[2]}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: ids[2], subject: 'Meddelande 3', readAt: null });
  });

  it('When a citizen marks a message read twice, then it is read, the first time stays and the unread count drops by one', async () => {
    const first = await call(token, 'POST', `/api/inbox/messages/${ids[3]}/read`);
    expect(first.status).toBe(200);
    expect(first.body.readAt).not.toBeNull();
    const second = await call(token, 'POST', `/api/inbox/messages/${ids[3]}/read`);
    expect(second.body.readAt).toBe(first.body.readAt);
    const list = await call(token, 'GET', '/api/inbox/messages');
    expect(list.body.unreadCount).toBe(3);
  });

  it('When a citizen deletes a message, then it is gone for them but kept in the database for audit', async () => {
    const deleted = await call(token, 'DELETE', `/api/inbox/messages/${ids[1]}`);
    expect(deleted.status).toBe(204);
    expect((await call(token, 'GET', `/api/inbox/messages/${ids[1]}`)).status).toBe(404);
    expect((await call(token, 'DELETE', `/api/inbox/messages/${ids[1]}`)).status).toBe(404);
    expect((await call(token, 'POST', `/api/inbox/messages/${ids[1]}/read`)).status).toBe(404);
    const list = await call(token, 'GET', '/api/inbox/messages');
    expect(list.body.items.map((m: { id: number }) => m.id)).not.toContain(ids[1]);
    const [kept] = await rows<{ deleted_at: unknown; subject: string }>(
      t.database.orm,
      sql`select deleted_at, subject from inbox_message where id = ${ids[1]}`,
    );
    expect(kept?.subject).toBe('Meddelande 2');
    expect(kept?.deleted_at).not.toBeNull();
  });

  it('When the message id is not a number or does not exist, then the answer is a JSON 404', async () => {
    for (const id of ['abc', '0', '-1', '99999999', '1e3', '123456789012345678901']) {
      const { status, body } = await call(token, 'GET', `/api/inbox/messages/${id}`);
      expect(status, id).toBe(404);
      expect(body.error.code).toBe('not_found');
    }
    expect((await call(token, 'GET', '/api/inbox/nothing-here')).body.error.code).toBe('not_found');
  });
});

describe('Who may call', () => {
  it("When there is no token, a bad token or an administrator's token, then every citizen endpoint refuses", async () => {
    const admin = await signDevelopmentToken(t.app.config, 'admin', 'Ada Admin');
    for (const [method, path] of [
      ['GET', '/api/inbox/messages'],
      ['GET', '/api/inbox/messages/1'],
      ['POST', '/api/inbox/messages/1/read'],
      ['DELETE', '/api/inbox/messages/1'],
      ['GET', '/api/citizen/bookings'],
      ['GET', '/api/citizen/care-units'],
    ] as const) {
      expect((await call(undefined, method, path)).status, `${method} ${path}`).toBe(401);
      expect((await call('not-a-jwt', method, path)).status, `${method} ${path}`).toBe(401);
      const asAdmin = await call(admin, method, path);
      expect(asAdmin.status, `${method} ${path}`).toBe(403);
      expect(asAdmin.body.error.code).toBe('forbidden');
    }
  });
});

describe('Bookings and care units', () => {
  const resident = '195002021234';
  let token: string;

  beforeAll(async () => {
    token = await signDevelopmentToken(t.app.config, 'citizen', resident);
    const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
    await insertBookingPost(t.database, {
      resident,
      bookingId: 'LATER',
      details: { start: inDays(20), end: inDays(20.02), careTypeName: 'Provtagning' },
    });
    await insertBookingPost(t.database, {
      resident,
      bookingId: 'SOON',
      categorization: 'Invitation',
      details: { start: inDays(2), rebookingAllowed: true },
    });
    await insertBookingPost(t.database, { resident, bookingId: 'PASSED', details: { start: inDays(-1) } });
    await insertBookingPost(t.database, {
      resident,
      bookingId: 'OPEN-INVITATION',
      categorization: 'Invitation',
      details: {},
    });
    await insertBookingPost(t.database, { resident, bookingId: 'BAD', details: { badTime: true } });
    await insertBookingPost(t.database, {
      resident,
      bookingId: 'NO-UNIT',
      details: { start: inDays(3), healthcareFacility: '' },
    });
    await insertBookingPost(t.database, { resident, bookingId: 'FAR', details: { start: inDays(365 * 3 + 2) } });
    await insertBookingPost(t.database, {
      resident,
      bookingId: 'DELETED-IN-EI',
      present: false,
      details: { start: inDays(4) },
    });
    await insertCareUnitRelation(t.database, {
      resident,
      hsaId: 'SE-UNIT-OLD',
      name: 'Gamla mottagningen',
      lastAt: new Date('2025-01-01T00:00:00Z'),
      firstAt: new Date('2024-01-01T00:00:00Z'),
    });
    await insertCareUnitRelation(t.database, {
      resident,
      hsaId: 'SE-UNIT-NEW',
      name: 'Nya mottagningen',
      lastAt: new Date('2026-01-01T00:00:00Z'),
      firstAt: new Date('2025-06-01T00:00:00Z'),
    });
  });

  it('When a citizen asks for their bookings, then only upcoming, well-formed, present times within three years come, sorted by time', async () => {
    const { status, body } = await call(token, 'GET', '/api/citizen/bookings');
    expect(status).toBe(200);
    expect(body.items.map((b: { bookingId: string }) => b.bookingId)).toEqual(['SOON', 'LATER']);
    expect(body.items[0]).toMatchObject({
      kind: 'invitation',
      rebookAllowed: true,
      careUnit: { hsaId: 'SE2321000016-TEST', name: 'Vårdcentralen Test' },
    });
    expect(body.items[1]).toMatchObject({ kind: 'booking', careTypeName: 'Provtagning' });
  });

  it('When a citizen asks for their care units, then their relations come, most recent first', async () => {
    const { status, body } = await call(token, 'GET', '/api/citizen/care-units');
    expect(status).toBe(200);
    expect(body.items).toEqual([
      {
        hsaId: 'SE-UNIT-NEW',
        name: 'Nya mottagningen',
        firstAt: '2025-06-01T00:00:00.000Z',
        lastAt: '2026-01-01T00:00:00.000Z',
      },
      {
        hsaId: 'SE-UNIT-OLD',
        name: 'Gamla mottagningen',
        firstAt: '2024-01-01T00:00:00.000Z',
        lastAt: '2025-01-01T00:00:00.000Z',
      },
    ]);
  });
});

describe('Producer text', () => {
  it('When a producer sends <script> and HTML, then the API gives it back as JSON data, byte for byte, not as HTML', async () => {
    const resident = '196003033333';
    const token = await signDevelopmentToken(t.app.config, 'citizen', resident);
    const hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    const id = await insertMessage(t.database, {
      resident,
      subject: `Kallelse ${hostile}`,
      body: `Hej ${hostile}\n<b>fet</b>`,
      careUnitName: `Mottagning ${hostile}`,
      booking: bookingJson({ performerName: hostile }),
    });
    const { status, body, headers } = await call(token, 'GET', `/api/inbox/messages/${id}`);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(body.subject).toBe(`Kallelse ${hostile}`);
    expect(body.body).toBe(`Hej ${hostile}\n<b>fet</b>`);
    expect(body.careUnit.name).toBe(`Mottagning ${hostile}`);
    expect(body.booking.performerName).toBe(hostile);
  });
});

describe('Isolation between citizens', () => {
  let aIds: number[];
  let bIds: number[];
  let bCursor: string;

  beforeAll(async () => {
    aIds = [];
    bIds = [];
    for (let i = 0; i < 3; i++)
      aIds.push(await insertMessage(t.database, { resident: CITIZEN_A, subject: `A:s meddelande ${i}` }));
    for (let i = 0; i < 3; i++)
      bIds.push(await insertMessage(t.database, { resident: CITIZEN_B, subject: `B:s hemliga meddelande ${i}` }));
    await insertBookingPost(t.database, {
      resident: CITIZEN_B,
      bookingId: 'B-ONLY',
      details: { start: new Date(Date.now() + 86_400_000).toISOString() },
    });
    await insertCareUnitRelation(t.database, { resident: CITIZEN_B, hsaId: 'SE-B-UNIT', name: 'B:s mottagning' });
    const page = await call(tokenB, 'GET', '/api/inbox/messages?limit=1');
    bCursor = page.body.nextCursor;
    expect(bCursor).toEqual(expect.any(String));
  });

  it("When citizen A reads B's messages by id, then every one answers 404 without a trace of B's message", async () => {
    for (const id of bIds) {
      const { status, body } = await call(tokenA, 'GET', `/api/inbox/messages/${id}`);
      expect(status).toBe(404);
      expect(JSON.stringify(body)).not.toContain('hemliga');
    }
  });

  it("When citizen A marks B's messages read, then 404, and B's stay unread", async () => {
    for (const id of bIds) expect((await call(tokenA, 'POST', `/api/inbox/messages/${id}/read`)).status).toBe(404);
    const b = await call(tokenB, 'GET', '/api/inbox/messages');
    expect(b.body.unreadCount).toBe(3);
    expect(b.body.items.every((m: { readAt: unknown }) => m.readAt === null)).toBe(true);
  });

  it("When citizen A deletes B's messages, then 404, and B still has them all", async () => {
    for (const id of bIds) expect((await call(tokenA, 'DELETE', `/api/inbox/messages/${id}`)).status).toBe(404);
    const b = await call(tokenB, 'GET', '/api/inbox/messages');
    expect(b.body.items.map((m: { id: number }) => m.id).sort()).toEqual([...bIds].sort());
  });

  it("When citizen A pages with B's cursor, then it is refused, and A's own cursor works for A only", async () => {
    const refused = await call(tokenA, 'GET', `/api/inbox/messages?cursor=${encodeURIComponent(bCursor)}`);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('invalid_cursor');
    const aPage = await call(tokenA, 'GET', '/api/inbox/messages?limit=1');
    const aCursor = aPage.body.nextCursor as string;
    expect((await call(tokenA, 'GET', `/api/inbox/messages?cursor=${encodeURIComponent(aCursor)}`)).status).toBe(200);
    expect((await call(tokenB, 'GET', `/api/inbox/messages?cursor=${encodeURIComponent(aCursor)}`)).status).toBe(400);
  });

  it("When citizen A lists messages, bookings and care units, then nothing of B's is among them", async () => {
    const messages = await call(tokenA, 'GET', '/api/inbox/messages?limit=100');
    expect(messages.body.items.map((m: { id: number }) => m.id).sort()).toEqual([...aIds].sort());
    const bookings = await call(tokenA, 'GET', '/api/citizen/bookings');
    expect(bookings.body.items).toEqual([]);
    const careUnits = await call(tokenA, 'GET', '/api/citizen/care-units');
    expect(careUnits.body.items).toEqual([]);
    expect(
      (await call(tokenB, 'GET', '/api/citizen/bookings')).body.items.map((b: { bookingId: string }) => b.bookingId),
    ).toEqual(['B-ONLY']);
  });
});
