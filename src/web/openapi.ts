// The OpenAPI 3.1 description of the whole JSON API (CONTRACT §4), served at /api/openapi.json. Each
// component declares the fragment of its own routes next to them (its openapi.ts: paths and schemas);
// this file gives them the shared parts (errors, security, $ref) and composes the document, in the
// composition root (src/app.ts, openApiDocument). test/inbox/openapi.test.ts keeps it true: every route
// registered under /api is described and every path described is registered, and the API's answers in
// the tests validate against these schemas.
import type { Request, Response } from 'express';
import { ENVIRONMENTS } from '../config.js';

export type Schema = Record<string, unknown>;

/** One component's part of the description: its paths (under /api) and the schemas they name. */
export interface OpenApiFragment {
  paths: Record<string, unknown>;
  schemas: Record<string, Schema>;
}

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const nullable = (type: string, extra: Schema = {}): Schema => ({ type: [type, 'null'], ...extra });

export const json = (schema: Schema, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
export const error = (description: string) => json(ref('Error'), description);

export const citizenErrors = {
  '401': error('No bearer token, or not a valid one'),
  '403': error('The token is not a citizen\'s (claim "sub" with 12 digits)'),
};
export const adminErrors = {
  '401': error('No bearer token, or not a valid one'),
  '403': error('The token is not a national administrator\'s (claim "roles" with "national-admin")'),
};
export const citizenSecurity = [{ bearer: [] }];
export const adminSecurity = [{ bearer: [] }];

/** A required JSON request body of the schema. */
export const jsonBody = (schema: Schema) => ({ required: true, content: { 'application/json': { schema } } });
/** A numeric id in the path (`{id}`). */
export const numericIdPath = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[0-9]+$' },
};
/** The optional `environment` query of the administrators' lists. */
export const environmentQuery = {
  name: 'environment',
  in: 'query',
  schema: { type: 'string', enum: [...ENVIRONMENTS] },
};
/** An answer `{ items: [...] }` of one schema (`extra`: more keywords of the answer's object schema). */
export const listOf = (item: string, description: string, extra: Schema = {}) =>
  json(
    { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref(item) } }, ...extra },
    description,
  );
/** An administrators' GET of a list, filtered by environment. */
export const adminList = (operation: { summary: string; item: string; description: string; badRequest: string }) => ({
  tags: ['admin'],
  summary: operation.summary,
  security: adminSecurity,
  parameters: [environmentQuery],
  responses: {
    '200': listOf(operation.item, operation.description),
    '400': error(operation.badRequest),
    ...adminErrors,
  },
});

/** What the description itself declares: the error body every route answers with, and /openapi.json. */
const ownFragment: OpenApiFragment = {
  schemas: {
    Error: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message'],
          properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
        },
      },
    },
  },
  paths: {
    '/openapi.json': {
      get: {
        tags: ['meta'],
        summary: 'This description',
        security: [],
        responses: {
          '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
  },
};

/** The whole description from the components' fragments (a path or schema declared twice is a mistake). */
export function composeOpenApi(fragments: readonly OpenApiFragment[]) {
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, Schema> = {};
  for (const fragment of [...fragments, ownFragment]) {
    for (const [path, item] of Object.entries(fragment.paths)) {
      if (path in paths) throw new Error(`OpenAPI path ${path} declared twice`);
      paths[path] = item;
    }
    for (const [name, schema] of Object.entries(fragment.schemas)) {
      if (name in schemas) throw new Error(`OpenAPI schema ${name} declared twice`);
      schemas[name] = schema;
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ei-inbox',
      version: '1',
      description:
        'The 1177 inbox of booking messages built from Engagement Index notifications. Every call takes ' +
        '`Authorization: Bearer <JWT>`: a citizen is the claim `sub` (12-digit personal identity ' +
        'number) and only ever ' +
        'sees their own data; a national administrator has `roles` containing `national-admin`. Errors are ' +
        '`{ "error": { "code", "message" } }`.',
    },
    servers: [{ url: '/api' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas,
    },
    paths,
  };
}

export type OpenApiDocument = ReturnType<typeof composeOpenApi>;

/** GET /api/openapi.json: public, like any API description. */
export function serveOpenApi(document: OpenApiDocument): (req: Request, res: Response) => void {
  return (_req, res) => {
    res.set('Cache-Control', 'no-cache').json(document);
  };
}
