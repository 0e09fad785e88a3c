// The OpenAPI fragment of the queue: dead letters and an operator's retry of them.
// Composed with the other components' fragments into /api/openapi.json (src/web/openapi.ts);
// test/inbox/openapi.test.ts keeps it true to the routes and their answers.
import {
  adminErrors,
  adminSecurity,
  error,
  json,
  listOf,
  nullable,
  numericIdPath,
  type OpenApiFragment,
} from '../web/index.js';
import type { NotificationStatus } from './schema.js';

const PENDING: NotificationStatus = 'pending';

export const queueOpenApi: OpenApiFragment = {
  schemas: {
    DeadLetter: {
      type: 'object',
      required: [
        'id',
        'sourceSystem',
        'logicalAddress',
        'categorization',
        'deleteFlag',
        'attempts',
        'lastError',
        'receivedAt',
      ],
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
  },
  paths: {
    '/admin/dead-letters': {
      get: {
        tags: ['admin'],
        summary:
          'Notifications the engine gave up on, with where from and why (no personal data); oldest first, at most 100',
        security: adminSecurity,
        parameters: [
          {
            name: 'sourceSystem',
            in: 'query',
            description: 'Only those of this source system',
            schema: { type: 'string', maxLength: 64 },
          },
        ],
        responses: {
          '200': listOf('DeadLetter', 'Dead letters'),
          '400': error('A bad sourceSystem'),
          ...adminErrors,
        },
      },
    },
    '/admin/dead-letters/retry': {
      post: {
        tags: ['admin'],
        summary: 'Queues every dead letter of one source system again from the start (audited)',
        security: adminSecurity,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['sourceSystem'],
                properties: { sourceSystem: { type: 'string', maxLength: 64 } },
              },
            },
          },
        },
        responses: {
          '200': json(
            {
              type: 'object',
              required: ['sourceSystem', 'retried', 'ids'],
              properties: {
                sourceSystem: { type: 'string' },
                retried: { type: 'integer' },
                ids: { type: 'array', items: { type: 'integer' } },
              },
            },
            'Queued again',
          ),
          '400': error('No sourceSystem'),
          ...adminErrors,
        },
      },
    },
    '/admin/dead-letters/{id}/retry': {
      post: {
        tags: ['admin'],
        summary: 'Queues a dead letter again from the start',
        security: adminSecurity,
        parameters: [numericIdPath],
        responses: {
          '200': json(
            {
              type: 'object',
              required: ['id', 'status'],
              properties: { id: { type: 'integer' }, status: { const: PENDING } },
            },
            'Queued again',
          ),
          '404': error('No such dead letter'),
          ...adminErrors,
        },
      },
    },
  },
};
