// The OpenAPI fragment of the activation registry: source systems, audit, care-unit loads and the flood guard's units.
// Composed with the other components' fragments into /api/openapi.json (src/web/openapi.ts);
// test/inbox/openapi.test.ts keeps it true to the routes and their answers.
import {
  jsonBody,
  adminErrors,
  adminList,
  adminSecurity,
  environmentQuery,
  error,
  json,
  listOf,
  nullable,
  numericIdPath,
  ref,
  type OpenApiFragment,
} from '../web/index.js';
import { HOLD_STATUSES } from './flood-guard.js';
import { ENVIRONMENTS, SOURCE_SYSTEM_MODES } from './schema.js';
import { DEFAULT_MODE } from './validation.js';

const UNIT_PARAMS = [
  { name: 'environment', in: 'path', required: true, schema: { type: 'string', enum: [...ENVIRONMENTS] } },
  { name: 'logicalAddress', in: 'path', required: true, schema: { type: 'string', maxLength: 64 } },
];

/** A registration, as POST /admin/source-systems and the console's register-from-the-list take it. */
export const registrationBody = jsonBody({
  type: 'object',
  required: ['environment', 'hsaId', 'name'],
  properties: {
    environment: { type: 'string', enum: [...ENVIRONMENTS] },
    hsaId: { type: 'string' },
    name: { type: 'string' },
    mode: { type: 'string', enum: [...SOURCE_SYSTEM_MODES], default: DEFAULT_MODE },
  },
});

export const activationRegistryOpenApi: OpenApiFragment = {
  schemas: {
    SourceSystem: {
      type: 'object',
      required: ['id', 'environment', 'hsaId', 'name', 'mode', 'createdAt', 'updatedAt', 'deactivatedAt'],
      properties: {
        id: { type: 'integer' },
        environment: { type: 'string', enum: [...ENVIRONMENTS] },
        hsaId: {
          type: 'string',
          pattern: '^SE(16)?[0-9]{10}-[A-Z0-9]+$',
          description:
            'What the booking system sends as sourceSystem: SE, the organisation number, "-", a local ' +
            'part; stored upper-case (matched in any case)',
        },
        name: { type: 'string' },
        mode: { type: 'string', enum: [...SOURCE_SYSTEM_MODES] },
        createdAt: { type: 'string', format: 'date-time' },
        updatedAt: { type: 'string', format: 'date-time' },
        deactivatedAt: nullable('string', { format: 'date-time' }),
      },
    },
    AuditEntry: {
      type: 'object',
      required: ['id', 'at', 'actor', 'action', 'entity', 'entityId'],
      properties: {
        id: { type: 'integer' },
        at: { type: 'string', format: 'date-time' },
        actor: { type: 'string' },
        action: { type: 'string' },
        entity: { type: 'string' },
        entityId: { type: 'string' },
        before: {},
        after: {},
      },
    },
    CareUnitLoad: {
      type: 'object',
      description:
        "A care unit's silent loading period: what EI delivers for it in [startsAt, the earlier of " +
        'endsAt and endedAt) is stored without messages',
      required: [
        'id',
        'environment',
        'logicalAddress',
        'startsAt',
        'endsAt',
        'endedAt',
        'note',
        'createdAt',
        'current',
      ],
      properties: {
        id: { type: 'integer' },
        environment: { type: 'string', enum: [...ENVIRONMENTS] },
        logicalAddress: { type: 'string', description: "The care unit's HSA-id, as EI sends it as logicalAddress" },
        startsAt: { type: 'string', format: 'date-time' },
        endsAt: { type: 'string', format: 'date-time', description: 'As planned' },
        endedAt: nullable('string', { format: 'date-time', description: 'Set when ended early' }),
        note: nullable('string'),
        createdAt: { type: 'string', format: 'date-time' },
        current: { type: 'boolean', description: 'Applies right now' },
      },
    },
    GuardedUnit: {
      type: 'object',
      description: 'A care unit the flood guard watches (new or back after a long silence) or has held',
      required: [
        'environment',
        'logicalAddress',
        'firstSeenAt',
        'lastSeenAt',
        'watchedUntil',
        'windowPosts',
        'hold',
        'heldMessages',
        'citizens',
        'oldestHeldAt',
      ],
      properties: {
        environment: { type: 'string', enum: [...ENVIRONMENTS] },
        logicalAddress: { type: 'string' },
        firstSeenAt: { type: 'string', format: 'date-time' },
        lastSeenAt: { type: 'string', format: 'date-time', description: 'Kept to the hour' },
        watchedUntil: nullable('string', { format: 'date-time' }),
        windowPosts: { type: 'integer', description: 'New posts in the current counting window of the watch' },
        hold: {
          type: ['object', 'null'],
          required: ['status', 'startedAt', 'notifications', 'lastNotificationAt', 'decidedAt', 'decidedBy'],
          properties: {
            status: { type: 'string', enum: [...HOLD_STATUSES] },
            startedAt: nullable('string', { format: 'date-time' }),
            notifications: { type: 'integer', description: 'Notifications delivered while held' },
            lastNotificationAt: nullable('string', { format: 'date-time' }),
            decidedAt: nullable('string', { format: 'date-time' }),
            decidedBy: nullable('string'),
          },
        },
        heldMessages: { type: 'integer', description: 'Messages waiting in the hold now' },
        citizens: { type: 'integer', description: 'Citizens those messages are for' },
        oldestHeldAt: nullable('string', { format: 'date-time' }),
      },
    },
  },
  paths: {
    '/admin/source-systems': {
      get: {
        tags: ['admin'],
        summary: 'Registered booking systems',
        security: adminSecurity,
        parameters: [
          environmentQuery,
          { name: 'includeDeactivated', in: 'query', schema: { type: 'string', enum: ['true', 'false'] } },
        ],
        responses: {
          '200': listOf('SourceSystem', 'The registrations'),
          '400': error('A bad query'),
          ...adminErrors,
        },
      },
      post: {
        tags: ['admin'],
        summary: 'Registers (activates) a booking system in an environment',
        security: adminSecurity,
        requestBody: registrationBody,
        responses: {
          '201': json(ref('SourceSystem'), 'Registered'),
          '400': error('A bad field'),
          '409': error('That HSA-id is already registered in that environment'),
          ...adminErrors,
        },
      },
    },
    '/admin/source-systems/{id}': {
      get: {
        tags: ['admin'],
        summary: 'One registration',
        security: adminSecurity,
        parameters: [numericIdPath],
        responses: {
          '200': json(ref('SourceSystem'), 'The registration'),
          '404': error('No such registration'),
          ...adminErrors,
        },
      },
      patch: {
        tags: ['admin'],
        summary: 'Changes name or mode',
        security: adminSecurity,
        parameters: [numericIdPath],
        requestBody: jsonBody({
          type: 'object',
          properties: { name: { type: 'string' }, mode: { type: 'string', enum: [...SOURCE_SYSTEM_MODES] } },
        }),
        responses: {
          '200': json(ref('SourceSystem'), 'Changed'),
          '400': error('A bad field'),
          '404': error('No such registration'),
          '409': error('The registration is deactivated'),
          ...adminErrors,
        },
      },
      delete: {
        tags: ['admin'],
        summary: 'Deactivates the registration (its history stays)',
        security: adminSecurity,
        parameters: [numericIdPath],
        responses: {
          '200': json(ref('SourceSystem'), 'Deactivated'),
          '404': error('No such registration'),
          '409': error('Already deactivated'),
          ...adminErrors,
        },
      },
    },
    '/admin/audit': {
      get: {
        tags: ['admin'],
        summary: 'Who changed what, when (newest first)',
        security: adminSecurity,
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1 } },
          {
            name: 'before',
            in: 'query',
            description: 'nextCursor of the previous page',
            schema: { type: 'integer', minimum: 1 },
          },
          { name: 'entity', in: 'query', schema: { type: 'string' } },
        ],
        responses: {
          '200': json(
            {
              type: 'object',
              required: ['items', 'nextCursor'],
              properties: { items: { type: 'array', items: ref('AuditEntry') }, nextCursor: nullable('string') },
            },
            'Audit entries',
          ),
          '400': error('A bad query'),
          ...adminErrors,
        },
      },
    },
    '/admin/care-unit-loads': {
      get: {
        tags: ['admin'],
        summary: "Care units' silent loading periods (current and coming; includeEnded=true for all)",
        security: adminSecurity,
        parameters: [
          environmentQuery,
          { name: 'includeEnded', in: 'query', schema: { type: 'string', enum: ['true', 'false'] } },
        ],
        responses: {
          '200': listOf('CareUnitLoad', 'The periods'),
          '400': error('A bad query'),
          ...adminErrors,
        },
      },
      post: {
        tags: ['admin'],
        summary: 'Sets a silent loading period for a care unit (audited)',
        security: adminSecurity,
        requestBody: jsonBody({
          type: 'object',
          required: ['environment', 'logicalAddress', 'until'],
          properties: {
            environment: { type: 'string', enum: [...ENVIRONMENTS] },
            logicalAddress: { type: 'string', maxLength: 64 },
            from: {
              type: 'string',
              description: 'Default now. "2026-12-01T14:00" (Swedish time) or ISO 8601 with a zone; not in the past',
            },
            until: { type: 'string', description: 'Later than from and now; at most 31 days after from' },
            note: { type: 'string', maxLength: 200 },
          },
        }),
        responses: {
          '201': json(ref('CareUnitLoad'), 'Set'),
          '400': error('A bad field (details.problems names each); nothing stored'),
          ...adminErrors,
        },
      },
    },
    '/admin/care-unit-loads/{id}': {
      delete: {
        tags: ['admin'],
        summary: 'Ends a loading period now (audited); what is delivered afterwards makes messages as usual',
        security: adminSecurity,
        parameters: [numericIdPath],
        responses: {
          '200': json(ref('CareUnitLoad'), 'Ended'),
          '404': error('No such period'),
          '409': error('Already ended (code care_unit_load_ended)'),
          ...adminErrors,
        },
      },
    },
    '/admin/care-units': {
      get: adminList({
        summary: 'Care units the flood guard watches or has held, held ones first, with their counts',
        item: 'GuardedUnit',
        description: 'The units',
        badRequest: 'A bad query',
      }),
    },
    '/admin/care-units/{environment}/{logicalAddress}': {
      get: {
        tags: ['admin'],
        summary: 'One care unit as the flood guard sees it',
        security: adminSecurity,
        parameters: UNIT_PARAMS,
        responses: { '200': json(ref('GuardedUnit'), 'The unit'), '404': error('Never seen'), ...adminErrors },
      },
    },
    '/admin/care-units/{environment}/{logicalAddress}/release': {
      post: {
        tags: ['admin'],
        summary:
          "Releases a held unit's messages: they become messages, oldest first, with SMS / e-mail as usual (audited)",
        security: adminSecurity,
        parameters: UNIT_PARAMS,
        responses: {
          '200': json(ref('GuardedUnit'), 'Released (the messages follow within seconds)'),
          '404': error('The unit has no hold'),
          '409': error('Not held (code care_unit_not_held): already released, dropped or expired'),
          ...adminErrors,
        },
      },
    },
    '/admin/care-units/{environment}/{logicalAddress}/drop': {
      post: {
        tags: ['admin'],
        summary: "Drops a held unit's messages: no messages, the bookings stay (audited)",
        security: adminSecurity,
        parameters: UNIT_PARAMS,
        responses: {
          '200': json(ref('GuardedUnit'), 'Dropped'),
          '404': error('The unit has no hold'),
          '409': error('Not held (code care_unit_not_held)'),
          ...adminErrors,
        },
      },
    },
  },
};
