// The OpenAPI fragment of the administrators' console: activity per source system, unregistered systems, the trace
// of a booking.
// Composed with the other components' fragments into /api/openapi.json (src/web/openapi.ts);
// test/inbox/openapi.test.ts keeps it true to the routes and their answers.
import {
  jsonBody,
  adminErrors,
  adminList,
  adminSecurity,
  error,
  json,
  listOf,
  nullable,
  ref,
  type OpenApiFragment,
} from '../web/index.js';
import { ENVIRONMENTS, registrationBody, SOURCE_SYSTEM_MODES } from '../activation-registry/index.js';
import { DECISION_OUTCOMES, MESSAGE_NOTICES, TRACE_EVENT_TYPES } from '../message-engine/index.js';
import { ACTIVITY_COUNTERS } from '../source-activity/index.js';
import { NOTIFICATION_STATUSES } from '../queue/index.js';
import { CHANNELS } from '../channels/index.js';

export const adminConsoleOpenApi: OpenApiFragment = {
  schemas: {
    ActivityCounts: {
      type: 'object',
      additionalProperties: false,
      required: [...ACTIVITY_COUNTERS],
      properties: Object.fromEntries(ACTIVITY_COUNTERS.map((name) => [name, { type: 'integer', minimum: 0 }])),
    },
    SourceActivity: {
      type: 'object',
      required: ['environment', 'sourceSystem', 'registration', 'last24h', 'last7d', 'deadLettersNow', 'lastSeenAt'],
      properties: {
        environment: { type: 'string', enum: [...ENVIRONMENTS] },
        sourceSystem: { type: 'string' },
        registration: {
          type: ['object', 'null'],
          required: ['id', 'name', 'mode'],
          properties: {
            id: { type: 'integer' },
            name: { type: 'string' },
            mode: { type: 'string', enum: [...SOURCE_SYSTEM_MODES] },
          },
        },
        last24h: ref('ActivityCounts'),
        last7d: ref('ActivityCounts'),
        deadLettersNow: { type: 'integer', minimum: 0 },
        lastSeenAt: nullable('string', { format: 'date-time' }),
      },
    },
    UnregisteredSystem: {
      type: 'object',
      required: [
        'environment',
        'sourceSystem',
        'notifications',
        'firstSeenAt',
        'lastSeenAt',
        'careUnits',
        'careUnitCount',
      ],
      properties: {
        environment: { type: 'string', enum: [...ENVIRONMENTS] },
        sourceSystem: { type: 'string' },
        notifications: { type: 'integer', minimum: 1 },
        firstSeenAt: { type: 'string', format: 'date-time' },
        lastSeenAt: { type: 'string', format: 'date-time' },
        careUnits: {
          type: 'array',
          items: { type: 'string' },
          description: 'Logical addresses, most recent first (at most 20)',
        },
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
            required: [
              'type',
              'notificationId',
              'heldId',
              'receivedAt',
              'deleteFlag',
              'categorization',
              'logicalAddress',
              'status',
              'attempts',
              'lastError',
              'deliveredMode',
              'decision',
            ],
            properties: {
              type: { type: 'string', enum: [...TRACE_EVENT_TYPES] },
              notificationId: nullable('integer'),
              heldId: nullable('integer'),
              receivedAt: nullable('string', { format: 'date-time' }),
              deleteFlag: nullable('boolean'),
              categorization: nullable('string'),
              logicalAddress: { type: 'string' },
              status: { type: ['string', 'null'], enum: [...NOTIFICATION_STATUSES, null] },
              attempts: nullable('integer'),
              lastError: nullable('string'),
              deliveredMode: nullable('string'),
              decision: {
                type: ['object', 'null'],
                required: ['at', 'outcome', 'messageKind', 'because', 'becauseSv', 'message'],
                properties: {
                  at: { type: 'string', format: 'date-time' },
                  outcome: { type: 'string', enum: [...DECISION_OUTCOMES] },
                  messageKind: nullable('string'),
                  because: { type: 'string', description: "The engine's reason" },
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
                      notice: { type: 'string', enum: [...MESSAGE_NOTICES] },
                      deliveries: {
                        type: 'array',
                        items: {
                          type: 'object',
                          required: ['channel', 'status', 'providerStatus', 'attempts', 'createdAt', 'sentAt'],
                          properties: {
                            channel: { type: 'string', enum: [...CHANNELS] },
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
  },
  paths: {
    '/admin/source-activity': {
      get: adminList({
        summary:
          'Per source system and environment: received, ignored, messages by kind, no message, ' +
          'producer failures, dead letters; last 24 hours and 7 days; last seen',
        item: 'SourceActivity',
        description: 'Activity',
        badRequest: 'A bad environment',
      }),
    },
    '/admin/unregistered-systems': {
      get: adminList({
        summary:
          'Source systems that sent booking notifications while not registered, per environment, with ' +
          'counts, first/last seen and care units',
        item: 'UnregisteredSystem',
        description: 'Unregistered systems seen',
        badRequest: 'A bad environment',
      }),
    },
    '/admin/unregistered-systems/register': {
      post: {
        tags: ['admin'],
        summary: 'Registers a system from the unregistered list in one step (audited like any registration)',
        security: adminSecurity,
        requestBody: registrationBody,
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
        security: adminSecurity,
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
        summary:
          "The traces of a citizen's bookings, by personal identity number: needs the support role; " +
          'audited with the reason',
        security: adminSecurity,
        requestBody: jsonBody({
          type: 'object',
          required: ['personalIdentityNumber', 'reason'],
          properties: {
            personalIdentityNumber: { type: 'string', description: '12 digits, hyphen allowed' },
            reason: { type: 'string', minLength: 10, maxLength: 500 },
          },
        }),
        responses: {
          '200': listOf('BookingTrace', 'Traces (at most 50 bookings)'),
          '400': error('A bad personal identity number or no reason'),
          '401': error('No bearer token, or not a valid one'),
          '403': error(
            'Not a national administrator with the support role (claim "roles" with "national-admin" and "support")',
          ),
        },
      },
    },
  },
};
