// End to end over HTTP, with a real local GetBookingDetails producer and the real database: a care unit
// loading silently for a period set through the admin API; the flood guard holding an unannounced burst
// from a new care unit, then released (messages, one SMS per citizen) or dropped; a unit below the
// threshold untouched; and the source system's own silent mode, as before.
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { adminToken, bearer, citizenToken } from '../helpers/auth.js';
import { startBookingProducer, sampleTimeslot, type BookingProducer } from '../helpers/booking-producer.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import {
  engagement,
  notificationEnvelope,
  postNotification,
  TEST_SOURCE_SYSTEM,
  type EngagementInput,
} from '../helpers/soap.js';
import { temporaryDirectory } from '../channels/helpers.js';

const SECRET = 'care-unit-loading-test-secret-0123456789';
const THRESHOLD = 5;
const SILENT_SYSTEM = 'SE5565594230-SILENTPAS';
let producer: BookingProducer;
let t: TestApp;
const dataDir = temporaryDirectory();
const authConfig = { auth: { jwtSecret: SECRET, jwksUrl: undefined }, dataDir };

beforeAll(async () => {
  producer = await startBookingProducer();
  t = await startTestApp(
    {
      NTJP_GETBOOKINGDETAILS_URL: producer.url,
      DATA_DIR: dataDir,
      AUTH_JWT_SECRET: SECRET,
      NOTIFY_DIGEST_SECONDS: '1',
      SMS_QUIET_HOURS: '',
      REBOOK_WINDOW_SECONDS: '1',
      FLOOD_GUARD_THRESHOLD: String(THRESHOLD),
    },
    { engine: { pollMs: 20 } },
  );
  await t.activate(TEST_SOURCE_SYSTEM);
  await t.activate(SILENT_SYSTEM, 'silent');
});
afterAll(async () => {
  await t?.close();
  await producer?.close();
});

let citizenCounter = 0;
function newCitizen(): string {
  citizenCounter++;
  return `19750505${String(2000 + citizenCounter).slice(-4)}`;
}

async function api(method: string, urlPath: string, body?: unknown): Promise<{ status: number; json: any }> {
  const token = await adminToken(authConfig, 'Karin Kontroll');
  const response = await fetch(`${t.url}${urlPath}`, {
    method,
    headers: { ...bearer(token), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

/** Signs in to /admin with the development sign-in; posts forms with the page's CSRF token. */
async function adminPage(): Promise<{
  html: string;
  post(path: string, form?: Record<string, string>): Promise<{ status: number; location: string | null; html: string }>;
}> {
  let cookie = '';
  const request = async (method: string, urlPath: string, form?: Record<string, string>) => {
    const response = await fetch(`${t.url}${urlPath}`, {
      method,
      redirect: 'manual',
      headers: { ...(cookie && { cookie }), ...(form && { 'content-type': 'application/x-www-form-urlencoded' }) },
      ...(form && { body: new URLSearchParams(form).toString() }),
    });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) cookie = setCookie.split(';')[0]!;
    return { status: response.status, location: response.headers.get('location'), html: await response.text() };
  };
  const csrf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
  const signIn = await request('GET', '/admin/logga-in');
  await request('POST', '/admin/logga-in', { _csrf: csrf(signIn.html), name: 'Peter Page' });
  const admin = await request('GET', '/admin');
  expect(admin.status).toBe(200);
  return {
    html: admin.html,
    post: (urlPath, form = {}) => request('POST', urlPath, { _csrf: csrf(admin.html), ...form }),
  };
}

async function enableSms(resident: string, phone: string): Promise<void> {
  const token = await citizenToken(authConfig, resident);
  const response = await fetch(`${t.url}/api/citizen/settings`, {
    method: 'PUT',
    headers: { ...bearer(token), 'content-type': 'application/json' },
    body: JSON.stringify({ sms: { enabled: true, phone } }),
  });
  expect(response.status).toBe(200);
}

async function count(query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await rows<{ n: number }>(t.database.orm, query);
  return Number(row!.n);
}

const messagesOf = async (unit: string) =>
  rows<{ id: number; resident: string; kind: string; booking_id: string }>(
    t.database.orm,
    sql`select m.id::int, m.resident, m.kind, m.booking->>'bookingId' as booking_id from inbox_message m
        join booking_post p on p.key_hash = m.key_hash where p.logical_address = ${unit} order by m.id`,
  );
const pendingOf = (unit: string) =>
  count(
    sql`select count(*)::int as n from inbound_notification where status = 'pending' and engagement->>'logicalAddress' = ${unit}`,
  );
const postsOf = (unit: string) =>
  count(sql`select count(*)::int as n from booking_post where logical_address = ${unit} and present`);
const heldOf = (unit: string) =>
  count(sql`select count(*)::int as n from held_message where logical_address = ${unit}`);

async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function send(...transactions: EngagementInput[]): Promise<void> {
  const answer = await postNotification(t.url, notificationEnvelope(transactions));
  expect(answer.resultCode, answer.comment ?? answer.faultstring).toBe('OK');
}

/** A booking at `unit` for `resident`, known to the producer, and its EI post. */
function booking(
  unit: string,
  resident: string,
  bookingId: string,
  start = '20270210090000',
  system = TEST_SOURCE_SYSTEM,
): EngagementInput {
  const end = `${start.slice(0, 8)}${String(Number(start.slice(8, 10)) + 1).padStart(2, '0')}${start.slice(10)}`;
  producer.addBooking(
    unit,
    bookingId,
    sampleTimeslot({
      subjectOfCare: resident,
      healthcareFacility: unit,
      startTimeInclusive: start,
      endTimeExclusive: end,
      healthcareFacilityName: 'Vårdcentralen Eken',
    }),
  );
  return engagement({
    registeredResidentIdentification: resident,
    logicalAddress: unit,
    businessObjectInstanceIdentifier: bookingId,
    sourceSystem: system,
  });
}

/** The same post later, with the booking moved in the producer (a rebooking, same id). */
function moved(unit: string, post: EngagementInput, resident: string, start: string): EngagementInput {
  const bookingId = String(post.businessObjectInstanceIdentifier);
  booking(unit, resident, bookingId, start, String(post.sourceSystem));
  return { ...post, updateTime: '20261201120000' };
}

describe('care units: silent loading and the flood guard, end to end', () => {
  it('When a care unit loads silently for a period set in the API, then its posts are stored without messages; after the period a rebooking of one of them gives a rebooking', async () => {
    const unit = 'SE2321000016-LOAD1';
    const added = await api('POST', '/api/admin/care-unit-loads', {
      environment: 'qa',
      logicalAddress: unit,
      until: new Date(Date.now() + 3600_000).toISOString(),
      note: 'grundladdning',
    });
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ logicalAddress: unit, environment: 'qa', current: true, note: 'grundladdning' });

    // A bulk load far above the guard's threshold: announced, so not held either.
    const citizens = Array.from({ length: 4 }, newCitizen);
    const posts = citizens.flatMap((resident, i) => [0, 1, 2].map((j) => booking(unit, resident, `LOAD1-${i}-${j}`)));
    await send(...posts);
    await waitFor(
      () => pendingOf(unit),
      (n) => n === 0,
    );
    expect(await postsOf(unit)).toBe(12);
    expect(await messagesOf(unit)).toEqual([]);
    expect(await heldOf(unit)).toBe(0);
    const [stamp] = await rows<{ modes: string[] | string }>(
      t.database.orm,
      sql`select json_agg(distinct delivered_mode) as modes from inbound_notification where engagement->>'logicalAddress' = ${unit}`,
    );
    expect(typeof stamp!.modes === 'string' ? JSON.parse(stamp!.modes) : stamp!.modes).toEqual(['silent']);
    const relations = await count(
      sql`select count(*)::int as n from care_unit_relation where care_unit_hsa_id = ${unit}`,
    );
    expect(relations).toBe(0);

    // The load ends (early, by an administrator); a later change makes messages as usual.
    const ended = await api('DELETE', `/api/admin/care-unit-loads/${added.json.id}`);
    expect(ended.status).toBe(200);
    expect(ended.json.current).toBe(false);
    expect((await api('DELETE', `/api/admin/care-unit-loads/${added.json.id}`)).json.error.code).toBe(
      'care_unit_load_ended',
    );
    await send(moved(unit, posts[0]!, citizens[0]!, '20270215130000'));
    const messages = await waitFor(
      () => messagesOf(unit),
      (list) => list.length > 0,
    );
    expect(messages.map((m) => [m.kind, m.booking_id])).toEqual([['rebooking', 'LOAD1-0-0']]);

    const audit = await api('GET', '/api/admin/audit?entity=care_unit_load');
    expect(audit.json.items.map((entry: { action: string; actor: string }) => [entry.action, entry.actor])).toEqual([
      ['care_unit_load.end', 'Karin Kontroll'],
      ['care_unit_load.add', 'Karin Kontroll'],
    ]);
  });

  it('When a loading period is asked for with bad values, then 400 naming each field and nothing stored', async () => {
    const answer = await api('POST', '/api/admin/care-unit-loads', {
      environment: 'test',
      logicalAddress: ' X',
      until: 'tomorrow',
      extra: 1,
    });
    expect(answer.status).toBe(400);
    expect(answer.json.error.details.problems.map((p: { field: string }) => p.field).sort()).toEqual([
      'environment',
      'extra',
      'logicalAddress',
      'until',
    ]);
    const past = await api('POST', '/api/admin/care-unit-loads', {
      environment: 'qa',
      logicalAddress: 'SE-X',
      until: '2020-01-01T10:00',
    });
    expect(past.status).toBe(400);
    expect(
      (await api('GET', '/api/admin/care-unit-loads?includeEnded=true')).json.items.filter(
        (l: { logicalAddress: string }) => l.logicalAddress === 'SE-X',
      ),
    ).toEqual([]);
  });

  it('When an administrator sets and ends a loading period on /admin (Swedish local time), then it applies and is listed; a bad time is refused in Swedish', async () => {
    const page = await adminPage();
    const until = new Intl.DateTimeFormat('sv-SE', {
      timeZone: 'Europe/Stockholm',
      dateStyle: 'short',
      timeStyle: 'short',
    })
      .format(new Date(Date.now() + 2 * 3600_000))
      .replace(' ', 'T');
    const added = await page.post('/admin/vardenheter/inlasning', {
      environment: 'qa',
      logicalAddress: ' SE2321000016-PAGE1 ',
      until,
      note: 'grundladdning',
    });
    expect(added).toMatchObject({ status: 303, location: '/admin?klart=inlasning' });
    expect(t.app.directory.isLoading('SE2321000016-PAGE1')).toBe(true);
    const listed = await adminPage();
    expect(listed.html).toContain('<code>SE2321000016-PAGE1</code>');
    expect(listed.html).toContain('grundladdning');
    const id = /action="\/admin\/vardenheter\/inlasning\/(\d+)\/avsluta"/.exec(listed.html)![1]!;
    expect(await listed.post(`/admin/vardenheter/inlasning/${id}/avsluta`)).toMatchObject({
      status: 303,
      location: '/admin?klart=inlasningavslutad',
    });
    expect(t.app.directory.isLoading('SE2321000016-PAGE1')).toBe(false);
    const bad = await listed.post('/admin/vardenheter/inlasning', {
      environment: 'qa',
      logicalAddress: 'SE2321000016-PAGE2',
      until: '2020-01-01T10:00',
    });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('Till måste vara senare än från och än nu');
    expect(bad.html).toContain('value="SE2321000016-PAGE2"');
  });

  async function unannouncedBurst(unit: string): Promise<{ citizens: string[]; posts: EngagementInput[] }> {
    const citizens = Array.from({ length: 4 }, newCitizen);
    for (const [i, resident] of citizens.entries())
      await enableSms(resident, `070123${String(4500 + citizenCounter * 10 + i).padStart(4, '0')}`);
    const posts = citizens.flatMap((resident, i) =>
      [0, 1, 2].map((j) => booking(unit, resident, `${unit}-${i}-${j}`, `2027030${i + 1}1${j}0000`)),
    );
    await send(...posts);
    await waitFor(
      () => pendingOf(unit),
      (n) => n === 0,
    );
    return { citizens, posts };
  }

  it('When an unannounced burst arrives one post per call, then at most the threshold of it becomes messages before the guard holds the rest', async () => {
    const unit = 'SE2321000016-TRICKLE1';
    const resident = newCitizen();
    for (let i = 0; i < THRESHOLD * 3; i++)
      await send(booking(unit, resident, `TRICKLE1-${String(i).padStart(2, '0')}`));
    await waitFor(
      () => pendingOf(unit),
      (n) => n === 0,
    );
    const early = (await messagesOf(unit)).length;
    expect(early).toBeLessThanOrEqual(THRESHOLD);
    expect(await heldOf(unit)).toBe(THRESHOLD * 3 - early);
    expect((await api('GET', `/api/admin/care-units/qa/${unit}`)).json.hold).toMatchObject({
      status: 'holding',
      notifications: THRESHOLD * 3 - early,
    });

    // Nobody decides: past the alert limit a warning and the overdue gauge; past the expiry, dropped by the service.
    const watch = t.app.heldMessages!.watch;
    const alerted = await watch.check(new Date(Date.now() + 5 * 3600_000));
    expect(alerted.overdue).toContain(unit);
    expect(watch.overdue(new Date(Date.now() + 5 * 3600_000))).toContain(unit);
    expect(
      t.logs.some(
        (line) => String(line.msg).startsWith('flood guard: held messages are waiting') && line.logicalAddress === unit,
      ),
    ).toBe(true);
    const expired = await watch.check(new Date(Date.now() + 15 * 86_400_000));
    expect(expired.expired).toContain(unit);
    expect((await api('GET', `/api/admin/care-units/qa/${unit}`)).json.hold).toMatchObject({
      status: 'expired',
      decidedBy: 'system:flood-guard',
    });
    await waitFor(
      () => heldOf(unit),
      (n) => n === 0,
    );
    expect(await heldOf(unit)).toBe(0);
    expect((await messagesOf(unit)).length).toBe(early);
  });

  it('When a new care unit sends an unannounced burst, then its messages are held and shown to administrators; released, they become messages oldest first with one SMS per citizen', async () => {
    const unit = 'SE2321000016-FLOOD1';
    const { citizens } = await unannouncedBurst(unit);
    expect(await postsOf(unit)).toBe(12);
    // Held: stored, not shown, not notified.
    expect(await messagesOf(unit)).toEqual([]);
    expect(await heldOf(unit)).toBe(12);
    expect(
      await count(
        sql`select count(*)::int as n from notification_request r join inbox_message m on m.id = r.message_id where m.care_unit_hsa_id = ${unit}`,
      ),
    ).toBe(0);

    const listed = await api('GET', '/api/admin/care-units?environment=qa');
    const shown = listed.json.items.find((u: { logicalAddress: string }) => u.logicalAddress === unit);
    expect(shown).toMatchObject({
      environment: 'qa',
      hold: { status: 'holding', notifications: 12 },
      heldMessages: 12,
      citizens: 4,
    });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^ei_flood_guard_held_units [1-9]/m);
    expect(metrics).toMatch(/^ei_flood_guard_holds_total [1-9]/m);
    expect(
      t.logs.some(
        (line) => String(line.msg).startsWith('flood guard: unannounced burst') && line.logicalAddress === unit,
      ),
    ).toBe(true);

    // A citizen sees nothing of the held messages.
    const citizen = citizens[3]!;
    const inbox = await fetch(`${t.url}/api/inbox/messages`, {
      headers: bearer(await citizenToken(authConfig, citizen)),
    });
    expect((await inbox.json()).items).toEqual([]);

    const released = await api('POST', `/api/admin/care-units/qa/${unit}/release`);
    expect(released.status).toBe(200);
    expect(released.json.hold).toMatchObject({ status: 'released', decidedBy: 'Karin Kontroll' });
    expect((await api('POST', `/api/admin/care-units/qa/${unit}/release`)).json.error.code).toBe('care_unit_not_held');

    const messages = await waitFor(
      () => messagesOf(unit),
      (list) => list.length === 12,
    );
    expect(messages.map((m) => m.kind)).toEqual(Array(12).fill('booking_confirmation'));
    expect(await heldOf(unit)).toBe(0);
    // Oldest first: in delivery order within each citizen.
    for (const resident of citizens) {
      const ids = messages.filter((m) => m.resident === resident).map((m) => m.booking_id);
      expect(ids).toEqual([...ids].sort());
    }
    // One SMS per citizen for all their messages (the digest as usual).
    const sms = await waitFor(
      () =>
        rows<{ resident: string; status: string; messages: number }>(
          t.database.orm,
          sql`select d.resident, d.status, (select count(*)::int from notification_delivery_message x where x.delivery_id = d.id) as messages
            from notification_delivery d where d.channel = 'sms' and d.resident in (select jsonb_array_elements_text(${JSON.stringify(citizens)}::jsonb))`,
        ),
      (list) => list.length === 4 && list.every((d) => d.status === 'sent'),
    );
    expect(sms.map((d) => d.resident).sort()).toEqual([...citizens].sort());
    expect(sms.map((d) => Number(d.messages)).reduce((a, b) => a + b, 0)).toBe(12);
    const files = fs.readdirSync(path.join(dataDir, 'outbox')).filter((name) => name.startsWith('sms-'));
    expect(files.length).toBeGreaterThanOrEqual(4);

    // Released: the unit's later posts are messages at once.
    const later = newCitizen();
    await send(booking(unit, later, `${unit}-later`));
    const after = await waitFor(
      () => messagesOf(unit),
      (list) => list.length === 13,
    );
    expect(after.at(-1)).toMatchObject({ resident: later, kind: 'booking_confirmation' });

    const audit = await api('GET', '/api/admin/audit?entity=care_unit');
    expect(
      audit.json.items
        .filter((e: { entityId: string }) => e.entityId === `qa:${unit}`)
        .map((e: { action: string; actor: string }) => [e.action, e.actor]),
    ).toEqual([
      ['care_unit.release', 'Karin Kontroll'],
      ['care_unit.hold', 'system:flood-guard'],
    ]);
  });

  it('When an unannounced burst is dropped, then no messages and no SMS, the bookings stay, and a later rebooking gives a rebooking', async () => {
    const unit = 'SE2321000016-FLOOD2';
    const { citizens, posts } = await unannouncedBurst(unit);
    const early = (await messagesOf(unit)).length;
    expect(early).toBe(0);
    expect(await heldOf(unit)).toBe(12);
    // Through the /admin page: the unit with its counts, and the drop button.
    const page = await adminPage();
    expect(page.html).toContain(`<code>${unit}</code>`);
    const row = page.html.slice(page.html.indexOf(`<code>${unit}</code>`)).split('</tr>')[0]!;
    expect(row).toContain('Hålls – väntar på beslut');
    expect(row).toMatch(/<td>12<\/td>\s*<td>12<\/td>\s*<td>4<\/td>/);
    const dropped = await page.post(`/admin/vardenheter/qa/${encodeURIComponent(unit)}/kasta`);
    expect(dropped).toMatchObject({ status: 303, location: '/admin?klart=kastat' });
    expect((await api('GET', `/api/admin/care-units/qa/${unit}`)).json.hold).toMatchObject({
      status: 'dropped',
      decidedBy: 'Peter Page',
    });
    await waitFor(
      () => heldOf(unit),
      (n) => n === 0,
    );
    expect(await heldOf(unit)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await messagesOf(unit)).length).toBe(early);
    expect(await postsOf(unit)).toBe(12);
    expect(
      await count(
        sql`select count(*)::int as n from notification_delivery where resident in (select jsonb_array_elements_text(${JSON.stringify(citizens)}::jsonb))`,
      ),
    ).toBe(0);

    // The bookings are in the citizen's upcoming list (state kept).
    const upcoming = await fetch(`${t.url}/api/citizen/bookings`, {
      headers: bearer(await citizenToken(authConfig, citizens[2]!)),
    });
    expect((await upcoming.json()).items.length).toBe(3);

    await send(moved(unit, posts[11]!, citizens[3]!, '20270320150000'));
    const messages = await waitFor(
      () => messagesOf(unit),
      (list) => list.length === early + 1,
    );
    expect(messages.at(-1)).toMatchObject({ kind: 'rebooking', booking_id: `${unit}-3-2` });
  });

  it('When a new care unit sends no more than the threshold, then it is untouched: messages at once, nothing held', async () => {
    const unit = 'SE2321000016-SMALL1';
    const resident = newCitizen();
    const posts = Array.from({ length: THRESHOLD }, (_, i) => booking(unit, resident, `SMALL1-${i}`));
    await send(...posts);
    const messages = await waitFor(
      () => messagesOf(unit),
      (list) => list.length === THRESHOLD,
    );
    expect(messages.map((m) => m.kind)).toEqual(Array(THRESHOLD).fill('booking_confirmation'));
    expect(await heldOf(unit)).toBe(0);
    const unitState = await api('GET', `/api/admin/care-units/qa/${unit}`);
    expect(unitState.json).toMatchObject({ hold: null, windowPosts: THRESHOLD });
    expect(unitState.json.watchedUntil).not.toBeNull();
  });

  it('When the source system itself is silent, then its posts are stored without messages (not held), and after the switch to active a rebooking gives a rebooking', async () => {
    const unit = 'SE2321000016-SILENT1';
    const resident = newCitizen();
    const posts = Array.from({ length: THRESHOLD * 3 }, (_, i) =>
      booking(unit, resident, `SILENT1-${i}`, '20270401090000', SILENT_SYSTEM),
    );
    await send(...posts);
    await waitFor(
      () => pendingOf(unit),
      (n) => n === 0,
    );
    expect(await postsOf(unit)).toBe(THRESHOLD * 3);
    expect(await messagesOf(unit)).toEqual([]);
    expect(await heldOf(unit)).toBe(0);

    const systems = await api('GET', '/api/admin/source-systems');
    const silent = systems.json.items.find((s: { hsaId: string }) => s.hsaId === SILENT_SYSTEM);
    expect((await api('PATCH', `/api/admin/source-systems/${silent.id}`, { mode: 'active' })).status).toBe(200);
    await send(moved(unit, posts[0]!, resident, '20270402100000'));
    const messages = await waitFor(
      () => messagesOf(unit),
      (list) => list.length > 0,
    );
    expect(messages.map((m) => [m.kind, m.booking_id])).toEqual([['rebooking', 'SILENT1-0']]);
  });
});
