// The OpenAPI 3.1 description of the whole JSON API (CONTRACT §4), served at /api/openapi.json.
// test/inbox/openapi.test.ts keeps it true: every route registered under /api is described here and
// every path here is registered, and the API's answers in the tests validate against these schemas.
import type { Request, Response } from 'express';
import { SOURCE_SYSTEM_MODES } from '../activation-registry/schema.js';
import { ACTIVITY_COUNTERS } from '../source-activity/index.js';
import { MESSAGE_KINDS } from './schema.js';

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string, extra: Schema = {}): Schema => ({ type: [type, 'null'], ...extra });

const json = (schema: Schema, description: string) => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => json(ref('Error'), description);

const citizenErrors = {
  '401': error('No bearer token, or not a valid one'),
  '403': error('The token is not a citizen\'s (claim "sub" with 12 digits)'),
};
const adminErrors = {
  '401': error('No bearer token, or not a valid one'),
  '403': error('The token is not a national administrator\'s (claim "roles" with "national-admin")'),
};

const messageId = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The message id. Another citizen\'s message answers 404, exactly like a message that does not exist.',
  schema: { type: 'string', pattern: '^[0-9]+$' },
};
const numericId = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } };
const UNIT_PARAMS = [
  { name: 'environment', in: 'path', required: true, schema: { type: 'string', enum: ['qa', 'prod'] } },
  { name: 'logicalAddress', in: 'path', required: true, schema: { type: 'string', maxLength: 64 } },
];

const schemas: Record<string, Schema> = {
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
  CareUnitRef: {
    type: 'object',
    required: ['hsaId', 'name'],
    additionalProperties: false,
    properties: { hsaId: { type: 'string', description: 'The care unit\'s HSA-id' }, name: nullable('string') },
  },
  MessageBooking: {
    type: 'object',
    description: 'The booking or invitation the message is about. Producer text: escape it wherever it is shown as HTML.',
    required: ['bookingId', 'categorization', 'start', 'end', 'purpose', 'reason', 'careTypeName', 'timeTypeName', 'performerName', 'resourceName', 'cancelAllowed', 'rebookAllowed', 'messageAllowed'],
    additionalProperties: false,
    properties: {
      bookingId: nullable('string'),
      categorization: { type: ['string', 'null'], enum: ['Booking', 'Invitation', null] },
      start: nullable('string', { format: 'date-time', description: 'null: an invitation without a set time' }),
      end: nullable('string', { format: 'date-time' }),
      previousStart: nullable('string', { format: 'date-time', description: 'Rebookings only: the time before' }),
      previousEnd: nullable('string', { format: 'date-time' }),
      purpose: nullable('string', { description: 'Why the visit is booked (e.g. Vaccination), as the producer gives it' }),
      reason: nullable('string', { description: 'The reason the producer gives (e.g. 4-årskontroll)' }),
      careTypeName: nullable('string'),
      timeTypeName: nullable('string'),
      performerName: nullable('string'),
      resourceName: nullable('string'),
      cancelAllowed: { type: 'boolean', description: 'The producer allows the citizen to cancel the time' },
      rebookAllowed: { type: 'boolean', description: 'The producer allows the citizen to rebook the time' },
      messageAllowed: { type: 'boolean' },
    },
  },
  Message: {
    type: 'object',
    required: ['id', 'kind', 'subject', 'body', 'createdAt', 'readAt', 'careUnit', 'booking'],
    additionalProperties: false,
    properties: {
      id: { type: 'integer', minimum: 1 },
      kind: { type: 'string', enum: [...MESSAGE_KINDS] },
      subject: { type: 'string', description: 'Plain text (may contain producer text): escape it in HTML' },
      body: { type: 'string', description: 'Plain text with line breaks (may contain producer text): escape it in HTML' },
      createdAt: { type: 'string', format: 'date-time' },
      readAt: nullable('string', { format: 'date-time' }),
      careUnit: ref('CareUnitRef'),
      booking: ref('MessageBooking'),
    },
  },
  MessagePage: {
    type: 'object',
    required: ['items', 'nextCursor', 'unreadCount'],
    additionalProperties: false,
    properties: {
      items: { type: 'array', items: ref('Message'), description: 'Newest first' },
      nextCursor: nullable('string', { description: 'Opaque; valid only for the citizen it was given to. null on the last page.' }),
      unreadCount: { type: 'integer', minimum: 0 },
    },
  },
  UpcomingBooking: {
    type: 'object',
    required: ['bookingId', 'kind', 'start', 'end', 'careUnit', 'purpose', 'reason', 'careTypeName', 'timeTypeName', 'performerName', 'resourceName', 'cancelAllowed', 'rebookAllowed', 'messageAllowed'],
    additionalProperties: false,
    properties: {
      bookingId: { type: 'string' },
      kind: { type: 'string', enum: ['booking', 'invitation'] },
      start: { type: 'string', format: 'date-time' },
      end: nullable('string', { format: 'date-time' }),
      careUnit: ref('CareUnitRef'),
      purpose: nullable('string', { description: 'Why the visit is booked (e.g. Vaccination), as the producer gives it' }),
      reason: nullable('string', { description: 'The reason the producer gives (e.g. 4-årskontroll)' }),
      careTypeName: nullable('string'),
      timeTypeName: nullable('string'),
      performerName: nullable('string'),
      resourceName: nullable('string'),
      cancelAllowed: { type: 'boolean' },
      rebookAllowed: { type: 'boolean' },
      messageAllowed: { type: 'boolean' },
    },
  },
  CareUnit: {
    type: 'object',
    required: ['hsaId', 'name', 'firstAt', 'lastAt'],
    additionalProperties: false,
    properties: {
      hsaId: { type: 'string' },
      name: nullable('string'),
      firstAt: { type: 'string', format: 'date-time' },
      lastAt: { type: 'string', format: 'date-time' },
    },
  },
  CitizenSettings: {
    type: 'object',
    required: ['sms', 'email'],
    additionalProperties: false,
    properties: {
      sms: {
        type: 'object',
        required: ['enabled', 'phone'],
        additionalProperties: false,
        properties: { enabled: { type: 'boolean' }, phone: nullable('string', { description: 'E.164, e.g. +46701234567' }) },
      },
      email: {
        type: 'object',
        required: ['enabled', 'address'],
        additionalProperties: false,
        properties: { enabled: { type: 'boolean' }, address: nullable('string', { format: 'email' }) },
      },
    },
  },
  CitizenSettingsInput: {
    type: 'object',
    description: 'Each channel may be left out and is then kept as it is.',
    additionalProperties: false,
    properties: {
      sms: {
        type: 'object',
        additionalProperties: false,
        properties: { enabled: { type: 'boolean' }, phone: nullable('string') },
      },
      email: {
        type: 'object',
        additionalProperties: false,
        properties: { enabled: { type: 'boolean' }, address: nullable('string') },
      },
    },
  },
  SourceSystem: {
    type: 'object',
    required: ['id', 'environment', 'hsaId', 'name', 'mode', 'createdAt', 'updatedAt', 'deactivatedAt'],
    properties: {
      id: { type: 'integer' },
      environment: { type: 'string', enum: ['qa', 'prod'] },
      hsaId: {
        type: 'string',
        pattern: '^SE(16)?[0-9]{10}-[A-Z0-9]+$',
        description: 'What the booking system sends as sourceSystem: SE, the organisation number, "-", a local part; stored upper-case (matched in any case)',
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
    description: "A care unit's silent loading period: what EI delivers for it in [startsAt, the earlier of endsAt and endedAt) is stored without messages",
    required: ['id', 'environment', 'logicalAddress', 'startsAt', 'endsAt', 'endedAt', 'note', 'createdAt', 'current'],
    properties: {
      id: { type: 'integer' },
      environment: { type: 'string', enum: ['qa', 'prod'] },
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
    required: ['environment', 'logicalAddress', 'firstSeenAt', 'lastSeenAt', 'watchedUntil', 'windowPosts', 'hold', 'heldMessages', 'citizens', 'oldestHeldAt'],
    properties: {
      environment: { type: 'string', enum: ['qa', 'prod'] },
      logicalAddress: { type: 'string' },
      firstSeenAt: { type: 'string', format: 'date-time' },
      lastSeenAt: { type: 'string', format: 'date-time', description: 'Kept to the hour' },
      watchedUntil: nullable('string', { format: 'date-time' }),
      windowPosts: { type: 'integer', description: 'New posts in the current counting window of the watch' },
      hold: {
        type: ['object', 'null'],
        required: ['status', 'startedAt', 'notifications', 'lastNotificationAt', 'decidedAt', 'decidedBy'],
        properties: {
          status: { type: 'string', enum: ['holding', 'released', 'dropped', 'expired'] },
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
  DeadLetter: {
    type: 'object',
    required: ['id', 'sourceSystem', 'logicalAddress', 'categorization', 'deleteFlag', 'attempts', 'lastError', 'receivedAt'],
    properties: {
      id: { type: 'integer' },
      sourceSystem: { type: 'string' },
      logicalAddress: { type: 'string' },
      categorization: { type: 'string' },
      bookingId: { type: 'string' },
      deleteFlag: { type: 'boolean' },
      attempts: { type: 'integer' },
      lastError: nullable('string'),
      receivedAt: { type: 'string', format: 'date-time' },
    },
  },
  ActivityCounts: {
    type: 'object',
    additionalProperties: false,
    required: [...ACTIVITY_COUNTERS],
    properties: Object.fromEntries(
      ACTIVITY_COUNTERS.map((name) => [name, { type: 'integer', minimum: 0 }]),
    ),
  },
  SourceActivity: {
    type: 'object',
    required: ['environment', 'sourceSystem', 'registration', 'last24h', 'last7d', 'deadLettersNow', 'lastSeenAt'],
    properties: {
      environment: { type: 'string', enum: ['qa', 'prod'] },
      sourceSystem: { type: 'string' },
      registration: {
        type: ['object', 'null'],
        required: ['id', 'name', 'mode'],
        properties: { id: { type: 'integer' }, name: { type: 'string' }, mode: { type: 'string', enum: [...SOURCE_SYSTEM_MODES] } },
      },
      last24h: ref('ActivityCounts'),
      last7d: ref('ActivityCounts'),
      deadLettersNow: { type: 'integer', minimum: 0 },
      lastSeenAt: nullable('string', { format: 'date-time' }),
    },
  },
  UnregisteredSystem: {
    type: 'object',
    required: ['environment', 'sourceSystem', 'notifications', 'firstSeenAt', 'lastSeenAt', 'careUnits', 'careUnitCount'],
    properties: {
      environment: { type: 'string', enum: ['qa', 'prod'] },
      sourceSystem: { type: 'string' },
      notifications: { type: 'integer', minimum: 1 },
      firstSeenAt: { type: 'string', format: 'date-time' },
      lastSeenAt: { type: 'string', format: 'date-time' },
      careUnits: { type: 'array', items: { type: 'string' }, description: 'Logical addresses, most recent first (at most 20)' },
      careUnitCount: { type: 'integer', minimum: 1 },
    },
  },
  BookingTrace: {
    type: 'object',
    required: ['sourceSystem', 'bookingId', 'events'],
    properties: {
      sourceSystem: { type: 'string' },
      bookingId: { type: 'string' },
      events: {
        type: 'array',
        items: {
          type: 'object',
          required: ['type', 'notificationId', 'heldId', 'receivedAt', 'deleteFlag', 'categorization', 'logicalAddress', 'status', 'attempts', 'lastError', 'deliveredMode', 'decision'],
          properties: {
            type: { type: 'string', enum: ['notification', 'window_ended'] },
            notificationId: nullable('integer'),
            heldId: nullable('integer'),
            receivedAt: nullable('string', { format: 'date-time' }),
            deleteFlag: nullable('boolean'),
            categorization: nullable('string'),
            logicalAddress: { type: 'string' },
            status: { type: ['string', 'null'], enum: ['pending', 'done', 'dead', null] },
            attempts: nullable('integer'),
            lastError: nullable('string'),
            deliveredMode: nullable('string'),
            decision: {
              type: ['object', 'null'],
              required: ['at', 'outcome', 'messageKind', 'because', 'becauseSv', 'message'],
              properties: {
                at: { type: 'string', format: 'date-time' },
                outcome: { type: 'string', enum: ['message', 'no_message', 'dead'] },
                messageKind: nullable('string'),
                because: { type: 'string', description: 'The engine\'s reason' },
                becauseSv: { type: 'string', description: 'The same in Swedish' },
                message: {
                  type: ['object', 'null'],
                  required: ['id', 'kind', 'subject', 'createdAt', 'readAt', 'notice', 'deliveries'],
                  properties: {
                    id: { type: 'integer' },
                    kind: { type: 'string' },
                    subject: { type: 'string' },
                    createdAt: { type: 'string', format: 'date-time' },
                    readAt: nullable('string', { format: 'date-time' }),
                    notice: { type: 'string', enum: ['waiting', 'planned', 'none', 'held'] },
                    deliveries: {
                      type: 'array',
                      items: {
                        type: 'object',
                        required: ['channel', 'status', 'providerStatus', 'attempts', 'createdAt', 'sentAt'],
                        properties: {
                          channel: { type: 'string', enum: ['sms', 'email'] },
                          status: { type: 'string' },
                          providerStatus: nullable('string'),
                          attempts: { type: 'integer' },
                          createdAt: { type: 'string', format: 'date-time' },
                          sentAt: nullable('string', { format: 'date-time' }),
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

const citizen = [{ bearer: [] }];
const admin = [{ bearer: [] }];

export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'ei-inbox',
    version: '1',
    description:
      'The 1177 inbox of booking messages built from Engagement Index notifications. Every call takes ' +
      '`Authorization: Bearer <JWT>`: a citizen is the claim `sub` (12-digit personal identity number) and only ever ' +
      'sees their own data; a national administrator has `roles` containing `national-admin`. Errors are ' +
      '`{ "error": { "code", "message" } }`.',
  },
  servers: [{ url: '/api' }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    schemas,
  },
  paths: {
    '/inbox/messages': {
      get: {
        tags: ['citizen'],
        summary: 'The citizen\'s messages, newest first',
        security: citizen,
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
          { name: 'cursor', in: 'query', description: 'nextCursor of the previous page', schema: { type: 'string' } },
        ],
        responses: {
          '200': json(ref('MessagePage'), 'A page of messages'),
          '400': error('A bad limit, or a cursor that was not given to this citizen (code invalid_cursor)'),
          ...citizenErrors,
        },
      },
    },
    '/inbox/messages/{id}': {
      get: {
        tags: ['citizen'],
        summary: 'One message (does not mark it read)',
        security: citizen,
        parameters: [messageId],
        responses: { '200': json(ref('Message'), 'The message'), '404': error('No such message for this citizen'), ...citizenErrors },
      },
      delete: {
        tags: ['citizen'],
        summary: 'Deletes the message for the citizen (it is kept for audit)',
        security: citizen,
        parameters: [messageId],
        responses: { '204': { description: 'Deleted' }, '404': error('No such message for this citizen'), ...citizenErrors },
      },
    },
    '/inbox/messages/{id}/read': {
      post: {
        tags: ['citizen'],
        summary: 'Marks the message read (the first reading time stays)',
        security: citizen,
        parameters: [messageId],
        responses: { '200': json(ref('Message'), 'The message, read'), '404': error('No such message for this citizen'), ...citizenErrors },
      },
    },
    '/citizen/bookings': {
      get: {
        tags: ['citizen'],
        summary: 'Upcoming bookings and invitations with a set time, sorted by start',
        description:
          'Left out: times already started, times without a start (so also open invitations, which the ' +
          'citizen has as an inbox message), badly formatted start or end, no care unit, more than three years ahead.',
        security: citizen,
        responses: {
          '200': json({ type: 'object', required: ['items'], additionalProperties: false, properties: { items: { type: 'array', items: ref('UpcomingBooking') } } }, 'The upcoming times'),
          ...citizenErrors,
        },
      },
    },
    '/citizen/care-units': {
      get: {
        tags: ['citizen'],
        summary: 'The citizen\'s care-unit relations, most recent first',
        security: citizen,
        responses: {
          '200': json({ type: 'object', required: ['items'], additionalProperties: false, properties: { items: { type: 'array', items: ref('CareUnit') } } }, 'The care units'),
          ...citizenErrors,
        },
      },
    },
    '/citizen/settings': {
      get: {
        tags: ['citizen'],
        summary: 'The citizen\'s notification settings',
        security: citizen,
        responses: { '200': json(ref('CitizenSettings'), 'The settings'), ...citizenErrors },
      },
      put: {
        tags: ['citizen'],
        summary: 'Changes the notification settings',
        security: citizen,
        requestBody: { required: true, content: { 'application/json': { schema: ref('CitizenSettingsInput') } } },
        responses: {
          '200': json(ref('CitizenSettings'), 'The settings now in force'),
          '400': error('A bad field (code invalid_settings; details.problems names each); nothing is stored'),
          ...citizenErrors,
        },
      },
    },
    '/admin/source-systems': {
      get: {
        tags: ['admin'],
        summary: 'Registered booking systems',
        security: admin,
        parameters: [
          { name: 'environment', in: 'query', schema: { type: 'string', enum: ['qa', 'prod'] } },
          { name: 'includeDeactivated', in: 'query', schema: { type: 'string', enum: ['true', 'false'] } },
        ],
        responses: {
          '200': json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('SourceSystem') } } }, 'The registrations'),
          '400': error('A bad query'),
          ...adminErrors,
        },
      },
      post: {
        tags: ['admin'],
        summary: 'Registers (activates) a booking system in an environment',
        security: admin,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['environment', 'hsaId', 'name'],
                properties: {
                  environment: { type: 'string', enum: ['qa', 'prod'] },
                  hsaId: { type: 'string' },
                  name: { type: 'string' },
                  mode: { type: 'string', enum: [...SOURCE_SYSTEM_MODES], default: 'active' },
                },
              },
            },
          },
        },
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
        security: admin,
        parameters: [numericId],
        responses: { '200': json(ref('SourceSystem'), 'The registration'), '404': error('No such registration'), ...adminErrors },
      },
      patch: {
        tags: ['admin'],
        summary: 'Changes name or mode',
        security: admin,
        parameters: [numericId],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'object', properties: { name: { type: 'string' }, mode: { type: 'string', enum: [...SOURCE_SYSTEM_MODES] } } },
            },
          },
        },
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
        security: admin,
        parameters: [numericId],
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
        security: admin,
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1 } },
          { name: 'before', in: 'query', description: 'nextCursor of the previous page', schema: { type: 'integer', minimum: 1 } },
          { name: 'entity', in: 'query', schema: { type: 'string' } },
        ],
        responses: {
          '200': json(
            { type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref('AuditEntry') }, nextCursor: nullable('string') } },
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
        security: admin,
        parameters: [
          { name: 'environment', in: 'query', schema: { type: 'string', enum: ['qa', 'prod'] } },
          { name: 'includeEnded', in: 'query', schema: { type: 'string', enum: ['true', 'false'] } },
        ],
        responses: {
          '200': json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('CareUnitLoad') } } }, 'The periods'),
          '400': error('A bad query'),
          ...adminErrors,
        },
      },
      post: {
        tags: ['admin'],
        summary: 'Sets a silent loading period for a care unit (audited)',
        security: admin,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['environment', 'logicalAddress', 'until'],
                properties: {
                  environment: { type: 'string', enum: ['qa', 'prod'] },
                  logicalAddress: { type: 'string', maxLength: 64 },
                  from: { type: 'string', description: 'Default now. "2026-12-01T14:00" (Swedish time) or ISO 8601 with a zone; not in the past' },
                  until: { type: 'string', description: 'Later than from and now; at most 31 days after from' },
                  note: { type: 'string', maxLength: 200 },
                },
              },
            },
          },
        },
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
        security: admin,
        parameters: [numericId],
        responses: {
          '200': json(ref('CareUnitLoad'), 'Ended'),
          '404': error('No such period'),
          '409': error('Already ended (code care_unit_load_ended)'),
          ...adminErrors,
        },
      },
    },
    '/admin/care-units': {
      get: {
        tags: ['admin'],
        summary: 'Care units the flood guard watches or has held, held ones first, with their counts',
        security: admin,
        parameters: [{ name: 'environment', in: 'query', schema: { type: 'string', enum: ['qa', 'prod'] } }],
        responses: {
          '200': json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('GuardedUnit') } } }, 'The units'),
          '400': error('A bad query'),
          ...adminErrors,
        },
      },
    },
    '/admin/care-units/{environment}/{logicalAddress}': {
      get: {
        tags: ['admin'],
        summary: "One care unit as the flood guard sees it",
        security: admin,
        parameters: UNIT_PARAMS,
        responses: { '200': json(ref('GuardedUnit'), 'The unit'), '404': error('Never seen'), ...adminErrors },
      },
    },
    '/admin/care-units/{environment}/{logicalAddress}/release': {
      post: {
        tags: ['admin'],
        summary: "Releases a held unit's messages: they become messages, oldest first, with SMS / e-mail as usual (audited)",
        security: admin,
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
        security: admin,
        parameters: UNIT_PARAMS,
        responses: {
          '200': json(ref('GuardedUnit'), 'Dropped'),
          '404': error('The unit has no hold'),
          '409': error('Not held (code care_unit_not_held)'),
          ...adminErrors,
        },
      },
    },
    '/admin/dead-letters': {
      get: {
        tags: ['admin'],
        summary: 'Notifications the engine gave up on, with where from and why (no personal data); oldest first, at most 100',
        security: admin,
        parameters: [{ name: 'sourceSystem', in: 'query', description: 'Only those of this source system', schema: { type: 'string', maxLength: 64 } }],
        responses: {
          '200': json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('DeadLetter') } } }, 'Dead letters'),
          '400': error('A bad sourceSystem'),
          ...adminErrors,
        },
      },
    },
    '/admin/dead-letters/retry': {
      post: {
        tags: ['admin'],
        summary: 'Queues every dead letter of one source system again from the start (audited)',
        security: admin,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', required: ['sourceSystem'], properties: { sourceSystem: { type: 'string', maxLength: 64 } } } } },
        },
        responses: {
          '200': json(
            { type: 'object', required: ['sourceSystem', 'retried', 'ids'], properties: { sourceSystem: { type: 'string' }, retried: { type: 'integer' }, ids: { type: 'array', items: { type: 'integer' } } } },
            'Queued again',
          ),
          '400': error('No sourceSystem'),
          ...adminErrors,
        },
      },
    },
    '/admin/source-activity': {
      get: {
        tags: ['admin'],
        summary: 'Per source system and environment: received, ignored, messages by kind, no message, producer failures, dead letters; last 24 hours and 7 days; last seen',
        security: admin,
        parameters: [{ name: 'environment', in: 'query', schema: { type: 'string', enum: ['qa', 'prod'] } }],
        responses: {
          '200': json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('SourceActivity') } } }, 'Activity'),
          '400': error('A bad environment'),
          ...adminErrors,
        },
      },
    },
    '/admin/unregistered-systems': {
      get: {
        tags: ['admin'],
        summary: 'Source systems that sent booking notifications while not registered, per environment, with counts, first/last seen and care units',
        security: admin,
        parameters: [{ name: 'environment', in: 'query', schema: { type: 'string', enum: ['qa', 'prod'] } }],
        responses: {
          '200': json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('UnregisteredSystem') } } }, 'Unregistered systems seen'),
          '400': error('A bad environment'),
          ...adminErrors,
        },
      },
    },
    '/admin/unregistered-systems/register': {
      post: {
        tags: ['admin'],
        summary: 'Registers a system from the unregistered list in one step (audited like any registration)',
        security: admin,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['environment', 'hsaId', 'name'],
                properties: { environment: { type: 'string', enum: ['qa', 'prod'] }, hsaId: { type: 'string' }, name: { type: 'string' }, mode: { type: 'string', enum: [...SOURCE_SYSTEM_MODES] } },
              },
            },
          },
        },
        responses: {
          '201': json(ref('SourceSystem'), 'Registered'),
          '400': error('A bad registration (e.g. not an HSA-id)'),
          '404': error('Not among the unregistered systems seen in that environment'),
          '409': error('Already registered'),
          ...adminErrors,
        },
      },
    },
    '/admin/trace': {
      get: {
        tags: ['admin'],
        summary: 'Every notification for one booking, the decision and why, the message, and each SMS/e-mail delivery',
        security: admin,
        parameters: [
          { name: 'sourceSystem', in: 'query', required: true, schema: { type: 'string', maxLength: 64 } },
          { name: 'bookingId', in: 'query', required: true, schema: { type: 'string', maxLength: 200 } },
        ],
        responses: {
          '200': json(ref('BookingTrace'), 'The trace (no events: nothing received for it)'),
          '400': error('sourceSystem or bookingId missing'),
          ...adminErrors,
        },
      },
    },
    '/admin/trace/by-person': {
      post: {
        tags: ['admin'],
        summary: 'The traces of a citizen\'s bookings, by personal identity number: needs the support role; audited with the reason',
        security: admin,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['personalIdentityNumber', 'reason'],
                properties: { personalIdentityNumber: { type: 'string', description: '12 digits, hyphen allowed' }, reason: { type: 'string', minLength: 10, maxLength: 500 } },
              },
            },
          },
        },
        responses: {
          '200': json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('BookingTrace') } } }, 'Traces (at most 50 bookings)'),
          '400': error('A bad personal identity number or no reason'),
          '401': error('No bearer token, or not a valid one'),
          '403': error('Not a national administrator with the support role (claim "roles" with "national-admin" and "support")'),
        },
      },
    },
    '/admin/dead-letters/{id}/retry': {
      post: {
        tags: ['admin'],
        summary: 'Queues a dead letter again from the start',
        security: admin,
        parameters: [numericId],
        responses: {
          '200': json({ type: 'object', required: ['id', 'status'], properties: { id: { type: 'integer' }, status: { const: 'pending' } } }, 'Queued again'),
          '404': error('No such dead letter'),
          ...adminErrors,
        },
      },
    },
    '/openapi.json': {
      get: {
        tags: ['meta'],
        summary: 'This description',
        security: [],
        responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
  },
} as const;

/** GET /api/openapi.json: public, like any API description. */
export function serveOpenApi(_req: Request, res: Response): void {
  res.set('Cache-Control', 'no-cache').json(OPENAPI_DOCUMENT);
}
