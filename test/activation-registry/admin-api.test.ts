// /api/admin/source-systems and /api/admin/audit over real HTTP against the running app, and what a
// change means for ingest: a system's notifications are ignored until it is activated, and after it
// is deactivated; in this process at once, in another process of the same PostgreSQL within 5 s.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase, rows } from '../../src/db/database.js';
import { createLogger } from '../../src/logging.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { adminToken, bearer, citizenToken } from '../helpers/auth.js';
import { engagement, notificationEnvelope, postNotification } from '../helpers/soap.js';

let t: TestApp;
let admin: Record<string, string>;

beforeAll(async () => {
  t = await startTestApp();
  admin = bearer(await adminToken(t.app.config, 'Anna Admin'));
});
afterAll(async () => t?.close());

interface Answer<T = Record<string, unknown>> {
  status: number;
  location: string | null;
  body: T & { error?: { code: string; message: string; details?: { problems: { field: string; rule: string }[] } } };
}

async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = admin,
): Promise<Answer<T>> {
  const response = await fetch(`${t.url}/api/admin${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, location: response.headers.get('location'), body: text ? JSON.parse(text) : {} };
}

async function count(table: string): Promise<number> {
  const [row] = await rows<{ n: number }>(t.database.orm, sql`select count(*)::int as n from ${sql.identifier(table)}`);
  return Number(row!.n);
}

let unique = 0;
function hsaId(): string {
  unique++;
  return `SE2321000016-BS${unique}`;
}

interface System {
  id: number;
  environment: string;
  hsaId: string;
  name: string;
  mode: string;
  deactivatedAt: string | null;
}

async function register(overrides: Record<string, unknown> = {}): Promise<System> {
  const answer = await api<System>('POST', '/source-systems', {
    environment: 'qa',
    hsaId: hsaId(),
    name: 'Cosmic',
    ...overrides,
  });
  expect(answer.status).toBe(201);
  return answer.body;
}

describe('Registering source systems', () => {
  it('When an administrator registers a system, then 201 with the registration, which the list and the id show', async () => {
    const id = hsaId();
    const answer = await api<System>('POST', '/source-systems', {
      environment: 'qa',
      hsaId: id,
      name: '  Region Exempel Cosmic ',
      mode: 'silent',
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      environment: 'qa',
      hsaId: id,
      name: 'Region Exempel Cosmic',
      mode: 'silent',
      deactivatedAt: null,
    });
    expect(answer.location).toBe(`/api/admin/source-systems/${answer.body.id}`);
    const list = await api<{ items: System[] }>('GET', '/source-systems?environment=qa');
    expect(list.body.items.map((s) => s.hsaId)).toContain(id);
    expect((await api('GET', `/source-systems/${answer.body.id}`)).body).toEqual(answer.body);
    expect(t.app.directory.modeOf(id)).toBe('silent');
  });

  it('When the mode is left out, then the system is active', async () => {
    expect((await register()).mode).toBe('active');
  });

  it('When a system is registered for prod, then the qa list does not show it and this (qa) process does not apply it', async () => {
    const system = await register({ environment: 'prod' });
    const qa = await api<{ items: System[] }>('GET', '/source-systems?environment=qa');
    const prod = await api<{ items: System[] }>('GET', '/source-systems?environment=prod');
    expect(qa.body.items.map((s) => s.id)).not.toContain(system.id);
    expect(prod.body.items.map((s) => s.id)).toContain(system.id);
    expect(t.app.directory.modeOf(system.hsaId)).toBeUndefined();
  });

  const refusals: [string, unknown, string, string][] = [
    ['environment missing', { hsaId: 'SE2321000016-A1', name: 'N' }, 'environment', 'required'],
    [
      'environment unknown',
      { environment: 'dev', hsaId: 'SE2321000016-A1', name: 'N' },
      'environment',
      'not_allowed_value',
    ],
    [
      'environment in capitals',
      { environment: 'QA', hsaId: 'SE2321000016-A1', name: 'N' },
      'environment',
      'not_allowed_value',
    ],
    ['hsaId missing', { environment: 'qa', name: 'N' }, 'hsaId', 'required'],
    ['hsaId empty', { environment: 'qa', hsaId: '', name: 'N' }, 'hsaId', 'required'],
    ['hsaId not text', { environment: 'qa', hsaId: 12, name: 'N' }, 'hsaId', 'required'],
    [
      'hsaId with a leading blank',
      { environment: 'qa', hsaId: ' SE2321000016-A1', name: 'N' },
      'hsaId',
      'surrounding_white_space',
    ],
    [
      'hsaId with a trailing tab',
      { environment: 'qa', hsaId: 'SE2321000016-A1\t', name: 'N' },
      'hsaId',
      'surrounding_white_space',
    ],
    ['hsaId of 65 characters', { environment: 'qa', hsaId: 'S'.repeat(65), name: 'N' }, 'hsaId', 'too_long'],
    [
      'hsaId with a control character',
      { environment: 'qa', hsaId: 'SE2321000016-A\u00001', name: 'N' },
      'hsaId',
      'control_characters',
    ],
    ['name missing', { environment: 'qa', hsaId: 'SE2321000016-A1' }, 'name', 'required'],
    ['name blank', { environment: 'qa', hsaId: 'SE2321000016-A1', name: '   ' }, 'name', 'required'],
    [
      'name of 201 characters',
      { environment: 'qa', hsaId: 'SE2321000016-A1', name: 'n'.repeat(201) },
      'name',
      'too_long',
    ],
    [
      'mode unknown',
      { environment: 'qa', hsaId: 'SE2321000016-A1', name: 'N', mode: 'loud' },
      'mode',
      'not_allowed_value',
    ],
    [
      'an unknown field',
      { environment: 'qa', hsaId: 'SE2321000016-A1', name: 'N', owner: 'x' },
      'owner',
      'unknown_field',
    ],
    ['an array instead of an object', [{ environment: 'qa' }], '', 'not_an_object'],
    [
      'hsaId not an HSA-id at all',
      { environment: 'qa', hsaId: 'inte ett hsa id!', name: 'N' },
      'hsaId',
      'not_an_hsa_id',
    ],
    [
      'hsaId without the organisation number',
      { environment: 'qa', hsaId: 'SE-PAS', name: 'N' },
      'hsaId',
      'not_an_hsa_id',
    ],
    ['hsaId with 9 digits', { environment: 'qa', hsaId: 'SE232100001-PAS', name: 'N' }, 'hsaId', 'not_an_hsa_id'],
    ['hsaId with 11 digits', { environment: 'qa', hsaId: 'SE23210000161-PAS', name: 'N' }, 'hsaId', 'not_an_hsa_id'],
    ['hsaId without a local part', { environment: 'qa', hsaId: 'SE2321000016-', name: 'N' }, 'hsaId', 'not_an_hsa_id'],
    [
      'hsaId with another country code',
      { environment: 'qa', hsaId: 'NO2321000016-PAS', name: 'N' },
      'hsaId',
      'not_an_hsa_id',
    ],
    [
      'hsaId with letters outside A-Z',
      { environment: 'qa', hsaId: 'SE2321000016-PÅS', name: 'N' },
      'hsaId',
      'not_an_hsa_id',
    ],
    [
      'hsaId with an inner blank',
      { environment: 'qa', hsaId: 'SE2321000016-P S', name: 'N' },
      'hsaId',
      'not_an_hsa_id',
    ],
  ];
  it.each(refusals)('When %s, then 400 naming the field and nothing is stored', async (_case, body, field, rule) => {
    const before = [await count('source_system'), await count('audit_log')];
    const answer = await api('POST', '/source-systems', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('invalid_request');
    expect(answer.body.error?.details?.problems).toContainEqual(expect.objectContaining({ field, rule }));
    expect([await count('source_system'), await count('audit_log')]).toEqual(before);
  });

  it('When an hsaId of exactly 64 characters is registered, then it is accepted', async () => {
    const answer = await api('POST', '/source-systems', {
      environment: 'qa',
      hsaId: `SE2321000016-${'9'.repeat(51)}`,
      name: 'Long',
    });
    expect(answer.status).toBe(201);
  });

  it.each([
    ['lower-case', 'se2321000032-pas1', 'SE2321000032-PAS1'],
    ['with the century prefix 16', 'SE162321000024-0001', 'SE162321000024-0001'],
    ['mixed case', 'Se5565189692-b01', 'SE5565189692-B01'],
  ])('When an HSA-id is given %s, then it is accepted and stored upper-case', async (_case, given, stored) => {
    const answer = await api<System>('POST', '/source-systems', { environment: 'prod', hsaId: given, name: 'Case' });
    expect(answer.status).toBe(201);
    expect(answer.body.hsaId).toBe(stored);
  });

  it("When the same HSA-id is registered again in another case, then 409 (unique per environment regardless of case); EI's sourceSystem matches in any case", async () => {
    const first = await api<System>('POST', '/source-systems', {
      environment: 'qa',
      hsaId: 'se2321000032-case1',
      name: 'Lower',
    });
    expect(first.body.hsaId).toBe('SE2321000032-CASE1');
    const before = [await count('source_system'), await count('audit_log')];
    const again = await api('POST', '/source-systems', {
      environment: 'qa',
      hsaId: 'SE2321000032-CASE1',
      name: 'Upper',
    });
    expect(again.status).toBe(409);
    expect([await count('source_system'), await count('audit_log')]).toEqual(before);
    expect(t.app.directory.modeOf('se2321000032-Case1')).toBe('active');
    const accepted = await postNotification(
      t.url,
      notificationEnvelope([
        engagement({ sourceSystem: 'se2321000032-case1', businessObjectInstanceIdentifier: 'CASE-1' }),
      ]),
    );
    expect(accepted.comment).toBe('accepted 1 (already received 0), ignored 0, rejected 0');
  });

  it('When the body is not JSON, then 400 invalid_json', async () => {
    const answer = await api('POST', '/source-systems', '{"environment": "qa",');
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'invalid_json' } } });
  });

  it('When the HSA-id is already registered in that environment, then 409 and nothing is stored; in the other environment it is fine', async () => {
    const first = await register();
    const before = [await count('source_system'), await count('audit_log')];
    const again = await api('POST', '/source-systems', {
      environment: 'qa',
      hsaId: first.hsaId,
      name: 'Another name',
      mode: 'silent',
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'duplicate_source_system' });
    expect(again.body.error?.message).toContain(first.hsaId);
    expect([await count('source_system'), await count('audit_log')]).toEqual(before);
    expect(
      (await api('POST', '/source-systems', { environment: 'prod', hsaId: first.hsaId, name: 'Cosmic' })).status,
    ).toBe(201);
  });

  it('When the same HSA-id is registered twice at the same moment, then exactly one wins and the other gets 409', async () => {
    const id = hsaId();
    const answers = await Promise.all(
      [1, 2, 3].map(() => api('POST', '/source-systems', { environment: 'qa', hsaId: id, name: 'Race' })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409]);
  });
});

describe('Changing and deactivating', () => {
  it('When the mode and the name are changed, then 200 with the new values, applied at once', async () => {
    const system = await register();
    const changed = await api<System>('PATCH', `/source-systems/${system.id}`, {
      mode: 'silent',
      name: 'Cosmic (inläsning)',
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      id: system.id,
      mode: 'silent',
      name: 'Cosmic (inläsning)',
      hsaId: system.hsaId,
    });
    expect(t.app.directory.modeOf(system.hsaId)).toBe('silent');
  });

  it('When a change names nothing to change, the environment or the HSA-id, then 400 and the registration stays', async () => {
    const system = await register();
    for (const body of [
      {},
      { environment: 'prod' },
      { hsaId: 'SE2321000016-OTHER' },
      { mode: 'off' },
      { name: '' },
      'null',
    ]) {
      const answer = await api('PATCH', `/source-systems/${system.id}`, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error?.code).toBe('invalid_request');
    }
    expect((await api<System>('GET', `/source-systems/${system.id}`)).body).toEqual(system);
  });

  it('When a system is deactivated, then it leaves the list and ingest, stays in the history, and cannot be changed or deactivated again', async () => {
    const system = await register();
    const deleted = await api<System>('DELETE', `/source-systems/${system.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.deactivatedAt).not.toBeNull();
    expect(t.app.directory.modeOf(system.hsaId)).toBeUndefined();
    const live = await api<{ items: System[] }>('GET', '/source-systems');
    expect(live.body.items.map((s) => s.id)).not.toContain(system.id);
    const all = await api<{ items: System[] }>('GET', '/source-systems?includeDeactivated=true');
    expect(all.body.items.find((s) => s.id === system.id)).toMatchObject({ deactivatedAt: deleted.body.deactivatedAt });
    expect((await api('DELETE', `/source-systems/${system.id}`)).body.error?.code).toBe('source_system_deactivated');
    expect((await api('PATCH', `/source-systems/${system.id}`, { mode: 'silent' })).status).toBe(409);
    // Registering it again makes a new registration; the old one stays as history.
    const again = await api<System>('POST', '/source-systems', {
      environment: 'qa',
      hsaId: system.hsaId,
      name: 'Cosmic',
    });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(system.id);
    expect((await api<System>('GET', `/source-systems/${system.id}`)).body.deactivatedAt).toBe(
      deleted.body.deactivatedAt,
    );
  });

  it('When an id is unknown or not an id, then 404 for GET, PATCH and DELETE', async () => {
    for (const id of ['999999', 'abc', '0', '99999999999', '-1']) {
      expect((await api('GET', `/source-systems/${id}`)).status, id).toBe(404);
      expect((await api('PATCH', `/source-systems/${id}`, { mode: 'silent' })).status, id).toBe(404);
      const deleted = await api('DELETE', `/source-systems/${id}`);
      expect(deleted.status, id).toBe(404);
      expect(deleted.body.error?.code).toBe('not_found');
    }
  });

  it('When the list is filtered by an unknown environment or a bad flag, then 400', async () => {
    expect((await api('GET', '/source-systems?environment=test')).status).toBe(400);
    expect((await api('GET', '/source-systems?includeDeactivated=yes')).status).toBe(400);
  });

  it('When a citizen tries to register, change or deactivate, then 403 and nothing changes', async () => {
    const system = await register();
    const citizen = bearer(await citizenToken(t.app.config));
    const before = [await count('source_system'), await count('audit_log')];
    expect(
      (await api('POST', '/source-systems', { environment: 'qa', hsaId: hsaId(), name: 'X' }, citizen)).status,
    ).toBe(403);
    expect((await api('PATCH', `/source-systems/${system.id}`, { mode: 'silent' }, citizen)).status).toBe(403);
    expect((await api('DELETE', `/source-systems/${system.id}`, undefined, citizen)).status).toBe(403);
    expect((await api('GET', '/audit', undefined, citizen)).status).toBe(403);
    expect((await api('POST', '/source-systems', { environment: 'qa', hsaId: hsaId(), name: 'X' }, {})).status).toBe(
      401,
    );
    expect([await count('source_system'), await count('audit_log')]).toEqual(before);
  });
});

describe('The audit log', () => {
  interface Entry {
    id: number;
    at: string;
    actor: string;
    action: string;
    entity: string;
    entityId: string;
    before: System | null;
    after: System;
  }

  it('When a system is registered, changed and deactivated, then the audit tells who, what, before, after and when, newest first', async () => {
    const start = Date.now() - 1000;
    const bertil = bearer(await adminToken(t.app.config, 'Bertil Admin'));
    const created = await api<System>(
      'POST',
      '/source-systems',
      { environment: 'qa', hsaId: hsaId(), name: 'Audited' },
      bertil,
    );
    await api('PATCH', `/source-systems/${created.body.id}`, { mode: 'silent' });
    await api('PATCH', `/source-systems/${created.body.id}`, { mode: 'silent' }); // no change: no entry
    await api('DELETE', `/source-systems/${created.body.id}`, undefined, bertil);
    const audit = await api<{ items: Entry[]; nextCursor: string | null }>('GET', '/audit?limit=3');
    expect(audit.status).toBe(200);
    const [deactivated, changed, registered] = audit.body.items;
    expect(registered).toMatchObject({
      actor: 'Bertil Admin',
      action: 'source_system.register',
      entity: 'source_system',
      entityId: String(created.body.id),
      before: null,
      after: { hsaId: created.body.hsaId, mode: 'active', deactivatedAt: null },
    });
    expect(changed).toMatchObject({
      actor: 'Anna Admin',
      action: 'source_system.change',
      before: { mode: 'active' },
      after: { mode: 'silent' },
    });
    expect(deactivated).toMatchObject({
      actor: 'Bertil Admin',
      action: 'source_system.deactivate',
      before: { deactivatedAt: null },
    });
    expect(deactivated!.after.deactivatedAt).not.toBeNull();
    for (const entry of audit.body.items) expect(Date.parse(entry.at)).toBeGreaterThanOrEqual(start);
    expect(audit.body.nextCursor).toBe(String(registered!.id));
  });

  it('When the audit is paged with nextCursor, then pages follow each other without overlap', async () => {
    const first = await api<{ items: Entry[]; nextCursor: string }>('GET', '/audit?limit=2');
    const second = await api<{ items: Entry[] }>('GET', `/audit?limit=2&before=${first.body.nextCursor}`);
    const [newestOfSecondPage] = second.body.items;
    const oldestOfFirstPage = first.body.items[1]!;
    expect(newestOfSecondPage!.id).toBeLessThan(oldestOfFirstPage.id);
    expect((await api('GET', '/audit?limit=0')).status).toBe(400);
    expect((await api('GET', '/audit?limit=5000')).status).toBe(400);
  });
});

describe('What a registration means for ingest', () => {
  const call = (sourceSystem: string, n: number) =>
    postNotification(
      t.url,
      notificationEnvelope([
        engagement({ sourceSystem, businessObjectInstanceIdentifier: `LIFE-${sourceSystem}-${n}` }),
      ]),
    );

  it('When a system notifies before activation, after activation and after deactivation, then it is ignored, accepted, ignored', async () => {
    const id = hsaId();
    expect((await call(id, 1)).comment).toBe('accepted 0 (already received 0), ignored 1, rejected 0');
    const created = await api<System>('POST', '/source-systems', { environment: 'qa', hsaId: id, name: 'Lifecycle' });
    expect((await call(id, 2)).comment).toBe('accepted 1 (already received 0), ignored 0, rejected 0');
    await api('PATCH', `/source-systems/${created.body.id}`, { mode: 'silent' });
    // Silent systems are live: their posts are stored (no message is produced from them).
    expect((await call(id, 3)).comment).toBe('accepted 1 (already received 0), ignored 0, rejected 0');
    await api('DELETE', `/source-systems/${created.body.id}`);
    expect((await call(id, 4)).comment).toBe('accepted 0 (already received 0), ignored 1, rejected 0');
  });

  // Polled for up to 20 s: less than the directory's 30 s periodic reload, so what arrives came by LISTEN/NOTIFY.
  it('When a registration changes in another process of the same database, then this process follows it without waiting for its periodic reload', async () => {
    const id = hsaId();
    if (!t.database.url) {
      // PGlite is one process's database: no second process can share it (the embedded lock refuses
      // it). What can be checked here is the same path in one process: a change announced on the
      // channel, without this process's own refresh, reaches the directory through LISTEN.
      console.info(
        '[activation-registry] cross-process propagation needs PostgreSQL (DATABASE_URL); on PGlite checking the LISTEN/NOTIFY path within one process instead',
      );
      await t.database.orm.execute(
        sql`insert into source_system (environment, hsa_id, name) values ('qa', ${id}, 'Elsewhere')`,
      );
      expect(t.app.directory.modeOf(id)).toBeUndefined();
      await t.database.orm.execute(sql`select pg_notify('source_system_changed', '{}')`);
      await expect.poll(() => t.app.directory.modeOf(id), { timeout: 20_000, interval: 50 }).toBe('active');
      return;
    }
    const database = await openDatabase({ databaseUrl: t.database.url, maxConnections: 2 });
    const config = loadConfig({ PORT: '0', DATA_DIR: '.tmp/test-data', ROLES: 'web' });
    const other = await buildApp({ config, database, log: createLogger({ level: 'silent' }) });
    const otherUrl = await other.listen();
    try {
      const started = Date.now();
      const response = await fetch(`${otherUrl}/api/admin/source-systems`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ environment: 'qa', hsaId: id, name: 'From elsewhere' }),
      });
      expect(response.status).toBe(201);
      await expect.poll(() => t.app.directory.modeOf(id), { timeout: 20_000, interval: 25 }).toBe('active');
      console.info(
        `[activation-registry] registration made in a second app reached the first app's directory in ${Date.now() - started} ms`,
      );
      const { id: registrationId } = (await response.json()) as System;
      await fetch(`${otherUrl}/api/admin/source-systems/${registrationId}`, { method: 'DELETE', headers: admin });
      await expect.poll(() => t.app.directory.modeOf(id), { timeout: 20_000, interval: 25 }).toBeUndefined();
      expect((await call(id, 1)).comment).toBe('accepted 0 (already received 0), ignored 1, rejected 0');
    } finally {
      await other.close();
      await database.close();
    }
  });
});
