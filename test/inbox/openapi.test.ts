// /api/openapi.json is kept true: every route the app registers under /api is described and every
// described operation is registered, and real answers of every operation validate against its schemas.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Router } from 'express';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevelopmentToken } from '../../src/auth/index.js';
import { openApiDocument } from '../../src/app.js';
import { composeOpenApi } from '../../src/web/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { CITIZEN_A, insertBookingPost, insertCareUnitRelation, insertMessage } from '../helpers/inbox-fixtures.js';

// ajv-formats is CommonJS with a default export; under NodeNext it arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
type Method = (typeof METHODS)[number];

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
// Composed from each component's fragment, as the app serves it.
const OPENAPI_DOCUMENT = openApiDocument();
const paths = OPENAPI_DOCUMENT.paths as unknown as Record<string, Partial<Record<Method, Operation>>>;

function documentedOperations(): string[] {
  return Object.entries(paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

interface ListedRoute {
  path: string | RegExp;
  methods: string[] | undefined;
  router: (Router & { listRoutes(): ListedRoute[] }) | undefined;
}

/** Every route under /api, as `METHOD /path` with OpenAPI's `{param}`, relative to the /api server. */
function registeredApiOperations(router: { listRoutes(): ListedRoute[] }, prefix = ''): string[] {
  return router.listRoutes().flatMap((route) => {
    if (typeof route.path !== 'string')
      throw new Error(`a route with a RegExp path cannot be described: ${String(route.path)}`);
    const full = `${prefix}${route.path === '/' ? '' : route.path}`;
    if (route.router) return registeredApiOperations(route.router, full);
    if (!full.startsWith('/api/') || !route.methods) return [];
    const openApiPath = full.slice('/api'.length).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    return route.methods
      .filter((method) => method !== 'HEAD' && method !== 'OPTIONS')
      .map((method) => `${method} ${openApiPath}`);
  });
}

let t: TestApp;
let citizen: string;
let admin: string;
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
addFormats(ajv);
// The document's `#/components/schemas/X` references, rewritten to a schema of their own.
ajv.addSchema({
  $id: 'components.json',
  $defs: JSON.parse(
    JSON.stringify(OPENAPI_DOCUMENT.components.schemas).replaceAll('#/components/schemas/', '#/$defs/'),
  ),
});
const validated = new Set<string>();

function schemaOf(method: Method, path: string, status: number): unknown {
  const response = paths[path]?.[method]?.responses[String(status)];
  if (!response) throw new Error(`${method.toUpperCase()} ${path} does not document status ${status}`);
  const schema = response.content?.['application/json']?.schema;
  return schema === undefined
    ? undefined
    : JSON.parse(JSON.stringify(schema).replaceAll('#/components/schemas/', 'components.json#/$defs/'));
}

/** Calls the API and checks the answer against the document; answers the JSON body. */
async function check(
  method: Method,
  template: string,
  concrete: string,
  token: string | undefined,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${t.url}/api${concrete}`, {
    method: method.toUpperCase(),
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  // `any`: the caller reads whatever JSON came back; the schema has just checked its shape.
  const json: any = text === '' ? undefined : JSON.parse(text);
  const schema = schemaOf(method, template, response.status);
  if (schema === undefined) {
    expect(text, `${method} ${concrete} ${response.status} documents no body`).toBe('');
  } else {
    const validate = ajv.compile(schema as object);
    expect(
      validate(json),
      `${method.toUpperCase()} ${concrete} ${response.status}: ${JSON.stringify(validate.errors)}`,
    ).toBe(true);
  }
  validated.add(`${method.toUpperCase()} ${template}`);
  return { status: response.status, json };
}

beforeAll(async () => {
  t = await startTestApp();
  citizen = await signDevelopmentToken(t.app.config, 'citizen', CITIZEN_A);
  admin = await signDevelopmentToken(t.app.config, 'admin', 'Ada Admin');
});
afterAll(async () => {
  await t?.close();
});

describe('the OpenAPI composition', () => {
  it('When two components declare the same path or schema, then composing the description fails and names it', () => {
    const fragment = { paths: { '/x': { get: {} } }, schemas: { X: { type: 'object' } } };
    expect(() => composeOpenApi([fragment, { paths: { '/x': { post: {} } }, schemas: {} }])).toThrow(
      'OpenAPI path /x declared twice',
    );
    expect(() => composeOpenApi([fragment, { paths: {}, schemas: { X: {} } }])).toThrow(
      'OpenAPI schema X declared twice',
    );
  });
});

describe('/api/openapi.json', () => {
  it('When it is fetched, then it is an OpenAPI 3.1 document whose schemas all compile', async () => {
    const { status, json } = await check('get', '/openapi.json', '/openapi.json', undefined);
    expect(status).toBe(200);
    expect(json.openapi).toBe('3.1.0');
    for (const [name, schema] of Object.entries(json.components.schemas as Record<string, object>)) {
      expect(
        () =>
          ajv.compile(
            JSON.parse(JSON.stringify(schema).replaceAll('#/components/schemas/', 'components.json#/$defs/')),
          ),
        name,
      ).not.toThrow();
    }
  });

  it('When the app is built, then every /api route is described and every described operation is registered', () => {
    const registered = registeredApiOperations(
      t.app.express.router as unknown as { listRoutes(): ListedRoute[] },
    ).sort();
    expect(registered.length).toBeGreaterThan(10);
    expect(registered).toEqual(documentedOperations().sort());
  });

  it('When every operation is called, then its answers validate against the document', async () => {
    // Citizen: messages.
    const id = await insertMessage(t.database, {
      resident: CITIZEN_A,
      kind: 'rebooking',
      booking: {
        bookingId: 'B-1',
        categorization: 'Booking',
        start: '2031-03-04T13:30:00.000Z',
        end: null,
        previousStart: '2031-03-01T13:30:00.000Z',
        previousEnd: null,
        careTypeName: null,
        timeTypeName: null,
        performerName: null,
        resourceName: null,
        cancelAllowed: false,
        rebookAllowed: true,
        messageAllowed: false,
      },
    });
    await insertMessage(t.database, { resident: CITIZEN_A, kind: 'invitation', careUnitName: null });
    await insertBookingPost(t.database, {
      resident: CITIZEN_A,
      details: { start: new Date(Date.now() + 86_400_000).toISOString() },
    });
    await insertCareUnitRelation(t.database, { resident: CITIZEN_A, hsaId: 'SE-UNIT', name: null });
    const page = await check('get', '/inbox/messages', '/inbox/messages?limit=1', citizen);
    expect(page.json.nextCursor).toEqual(expect.any(String));
    await check(
      'get',
      '/inbox/messages',
      `/inbox/messages?cursor=${encodeURIComponent(page.json.nextCursor)}`,
      citizen,
    );
    expect((await check('get', '/inbox/messages', '/inbox/messages?cursor=bad', citizen)).status).toBe(400);
    expect((await check('get', '/inbox/messages', '/inbox/messages', undefined)).status).toBe(401);
    expect((await check('get', '/inbox/messages', '/inbox/messages', admin)).status).toBe(403);
    expect((await check('get', '/inbox/messages/{id}', `/inbox/messages/${id}`, citizen)).status).toBe(200);
    expect((await check('post', '/inbox/messages/{id}/read', `/inbox/messages/${id}/read`, citizen)).status).toBe(200);
    expect((await check('delete', '/inbox/messages/{id}', `/inbox/messages/${id}`, citizen)).status).toBe(204);
    expect((await check('get', '/inbox/messages/{id}', `/inbox/messages/${id}`, citizen)).status).toBe(404);
    expect((await check('post', '/inbox/messages/{id}/read', `/inbox/messages/${id}/read`, citizen)).status).toBe(404);
    expect((await check('delete', '/inbox/messages/{id}', `/inbox/messages/${id}`, citizen)).status).toBe(404);
    // Citizen: bookings, care units, settings.
    expect((await check('get', '/citizen/bookings', '/citizen/bookings', citizen)).json.items).toHaveLength(1);
    expect((await check('get', '/citizen/care-units', '/citizen/care-units', citizen)).json.items).toHaveLength(1);
    await check('get', '/citizen/settings', '/citizen/settings', citizen);
    await check('put', '/citizen/settings', '/citizen/settings', citizen, {
      sms: { enabled: true, phone: '0701234567' },
      email: { enabled: true, address: 'a@example.se' },
    });
    expect(
      (await check('put', '/citizen/settings', '/citizen/settings', citizen, { sms: { enabled: 'yes' } })).status,
    ).toBe(400);
    // Administrators.
    const created = await check('post', '/admin/source-systems', '/admin/source-systems', admin, {
      environment: 'qa',
      hsaId: 'SE2321000016-OPENAPI',
      name: 'Test PAS',
    });
    expect(created.status).toBe(201);
    expect(
      (
        await check('post', '/admin/source-systems', '/admin/source-systems', admin, {
          environment: 'qa',
          hsaId: 'SE2321000016-OPENAPI',
          name: 'Test PAS',
        })
      ).status,
    ).toBe(409);
    expect(
      (await check('post', '/admin/source-systems', '/admin/source-systems', admin, { environment: 'test' })).status,
    ).toBe(400);
    expect((await check('get', '/admin/source-systems', '/admin/source-systems?environment=qa', admin)).status).toBe(
      200,
    );
    expect((await check('get', '/admin/source-systems', '/admin/source-systems', citizen)).status).toBe(403);
    const systemId = created.json.id as number;
    expect((await check('get', '/admin/source-systems/{id}', `/admin/source-systems/${systemId}`, admin)).status).toBe(
      200,
    );
    expect(
      (
        await check('patch', '/admin/source-systems/{id}', `/admin/source-systems/${systemId}`, admin, {
          mode: 'silent',
        })
      ).status,
    ).toBe(200);
    expect(
      (await check('delete', '/admin/source-systems/{id}', `/admin/source-systems/${systemId}`, admin)).status,
    ).toBe(200);
    expect(
      (await check('delete', '/admin/source-systems/{id}', `/admin/source-systems/${systemId}`, admin)).status,
    ).toBe(409);
    expect((await check('get', '/admin/source-systems/{id}', '/admin/source-systems/999999', admin)).status).toBe(404);
    expect((await check('get', '/admin/audit', '/admin/audit?limit=2', admin)).json.items.length).toBeGreaterThan(0);
    expect((await check('get', '/admin/dead-letters', '/admin/dead-letters', admin)).status).toBe(200);
    expect(
      (await check('post', '/admin/dead-letters/{id}/retry', '/admin/dead-letters/999999/retry', admin)).status,
    ).toBe(404);
    expect(
      (await check('get', '/admin/dead-letters', '/admin/dead-letters?sourceSystem=SE2321000016-OPENAPI', admin))
        .status,
    ).toBe(200);
    expect(
      (
        await check('post', '/admin/dead-letters/retry', '/admin/dead-letters/retry', admin, {
          sourceSystem: 'SE2321000016-OPENAPI',
        })
      ).json.retried,
    ).toBe(0);
    expect((await check('post', '/admin/dead-letters/retry', '/admin/dead-letters/retry', admin, {})).status).toBe(400);
    expect((await check('get', '/admin/source-activity', '/admin/source-activity?environment=qa', admin)).status).toBe(
      200,
    );
    expect((await check('get', '/admin/source-activity', '/admin/source-activity?environment=dev', admin)).status).toBe(
      400,
    );
    expect((await check('get', '/admin/unregistered-systems', '/admin/unregistered-systems', admin)).status).toBe(200);
    expect(
      (
        await check('post', '/admin/unregistered-systems/register', '/admin/unregistered-systems/register', admin, {
          environment: 'qa',
          hsaId: 'SE2321000016-NEVERSEEN',
          name: 'X',
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await check('post', '/admin/unregistered-systems/register', '/admin/unregistered-systems/register', admin, {
          environment: 'qa',
          hsaId: 'nope',
          name: 'X',
        })
      ).status,
    ).toBe(400);
    expect(
      (await check('get', '/admin/trace', '/admin/trace?sourceSystem=SE2321000016-OPENAPI&bookingId=B-1', admin)).json
        .events,
    ).toEqual([]);
    expect((await check('get', '/admin/trace', '/admin/trace?sourceSystem=SE2321000016-OPENAPI', admin)).status).toBe(
      400,
    );
    expect(
      (
        await check('post', '/admin/trace/by-person', '/admin/trace/by-person', admin, {
          personalIdentityNumber: CITIZEN_A,
          reason: 'Ärende 12345 från regionen',
        })
      ).status,
    ).toBe(403);
    const support = await signDevelopmentToken(t.app.config, 'support', 'Siv Support');
    expect(
      (
        await check('post', '/admin/trace/by-person', '/admin/trace/by-person', support, {
          personalIdentityNumber: CITIZEN_A,
          reason: 'kort',
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await check('post', '/admin/trace/by-person', '/admin/trace/by-person', support, {
          personalIdentityNumber: CITIZEN_A,
          reason: 'Ärende 12345 från regionen',
        })
      ).status,
    ).toBe(200);
    // Care units: loading periods and the flood guard's holds.
    const load = await check('post', '/admin/care-unit-loads', '/admin/care-unit-loads', admin, {
      environment: 'qa',
      logicalAddress: 'SE-OPENAPI-UNIT',
      until: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect(load.status).toBe(201);
    expect(
      (await check('post', '/admin/care-unit-loads', '/admin/care-unit-loads', admin, { environment: 'qa' })).status,
    ).toBe(400);
    expect(
      (await check('get', '/admin/care-unit-loads', '/admin/care-unit-loads?environment=qa', admin)).json.items.length,
    ).toBe(1);
    expect(
      (await check('delete', '/admin/care-unit-loads/{id}', `/admin/care-unit-loads/${load.json.id}`, admin)).status,
    ).toBe(200);
    expect(
      (await check('delete', '/admin/care-unit-loads/{id}', `/admin/care-unit-loads/${load.json.id}`, admin)).status,
    ).toBe(409);
    await t.database.orm
      .execute(sql`insert into care_unit_guard (environment, logical_address, first_seen_at, last_seen_at, hold_status, hold_started_at)
      values ('qa', 'SE-OPENAPI-HELD', now(), now(), 'holding', now()), ('qa', 'SE-OPENAPI-HELD2', now(), now(), 'holding', now())`);
    expect((await check('get', '/admin/care-units', '/admin/care-units?environment=qa', admin)).json.items.length).toBe(
      2,
    );
    const unit = '/admin/care-units/{environment}/{logicalAddress}';
    expect((await check('get', unit, '/admin/care-units/qa/SE-OPENAPI-HELD', admin)).json.hold.status).toBe('holding');
    expect((await check('get', unit, '/admin/care-units/qa/SE-NEVER', admin)).status).toBe(404);
    expect((await check('post', `${unit}/release`, '/admin/care-units/qa/SE-OPENAPI-HELD/release', admin)).status).toBe(
      200,
    );
    expect((await check('post', `${unit}/release`, '/admin/care-units/qa/SE-OPENAPI-HELD/release', admin)).status).toBe(
      409,
    );
    expect((await check('post', `${unit}/drop`, '/admin/care-units/qa/SE-OPENAPI-HELD2/drop', admin)).status).toBe(200);
    expect((await check('post', `${unit}/drop`, '/admin/care-units/qa/SE-NEVER/drop', admin)).status).toBe(404);

    expect([...validated].sort()).toEqual(documentedOperations().sort());
  });
});
