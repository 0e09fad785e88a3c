// The OpenAPI fragment of the citizen's inbox: messages, upcoming bookings, care units.
// Composed with the other components' fragments into /api/openapi.json (src/web/openapi.ts);
// test/inbox/openapi.test.ts keeps it true to the routes and their answers.
import {
  citizenErrors,
  citizenSecurity,
  error,
  json,
  listOf,
  nullable,
  ref,
  type OpenApiFragment,
} from '../web/index.js';
import { CATEGORIZATIONS } from '../process-notifications/index.js';
import { UPCOMING_KINDS } from './bookings.js';
import { MESSAGE_KINDS } from './schema.js';

/** The citizen's answers name every property they have. */
const closed = { additionalProperties: false };

const messageId = {
  name: 'id',
  in: 'path',
  required: true,
  description: "The message id. Another citizen's message answers 404, exactly like a message that does not exist.",
  schema: { type: 'string', pattern: '^[0-9]+$' },
};

/**
 * The producer's own texts about a booking and what it allows the citizen, as messages and upcoming
 * bookings both show them (all required; a text is null when the producer gave none).
 */
const bookingFacts = {
  purpose: nullable('string', { description: 'Why the visit is booked (e.g. Vaccination), as the producer gives it' }),
  reason: nullable('string', { description: 'The reason the producer gives (e.g. 4-årskontroll)' }),
  careTypeName: nullable('string'),
  timeTypeName: nullable('string'),
  performerName: nullable('string'),
  resourceName: nullable('string'),
  cancelAllowed: { type: 'boolean', description: 'The producer allows the citizen to cancel the time' },
  rebookAllowed: { type: 'boolean', description: 'The producer allows the citizen to rebook the time' },
  messageAllowed: { type: 'boolean' },
};
const BOOKING_FACTS = Object.keys(bookingFacts);

export const inboxOpenApi: OpenApiFragment = {
  schemas: {
    CareUnitRef: {
      type: 'object',
      required: ['hsaId', 'name'],
      additionalProperties: false,
      properties: { hsaId: { type: 'string', description: "The care unit's HSA-id" }, name: nullable('string') },
    },
    MessageBooking: {
      type: 'object',
      description:
        'The booking or invitation the message is about. Producer text: escape it wherever it is shown as HTML.',
      required: ['bookingId', 'categorization', 'start', 'end', ...BOOKING_FACTS],
      additionalProperties: false,
      properties: {
        bookingId: nullable('string'),
        categorization: { type: ['string', 'null'], enum: [...CATEGORIZATIONS, null] },
        start: nullable('string', { format: 'date-time', description: 'null: an invitation without a set time' }),
        end: nullable('string', { format: 'date-time' }),
        previousStart: nullable('string', { format: 'date-time', description: 'Rebookings only: the time before' }),
        previousEnd: nullable('string', { format: 'date-time' }),
        ...bookingFacts,
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
        body: {
          type: 'string',
          description: 'Plain text with line breaks (may contain producer text): escape it in HTML',
        },
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
        nextCursor: nullable('string', {
          description: 'Opaque; valid only for the citizen it was given to. null on the last page.',
        }),
        unreadCount: { type: 'integer', minimum: 0 },
      },
    },
    UpcomingBooking: {
      type: 'object',
      required: ['bookingId', 'kind', 'start', 'end', 'careUnit', ...BOOKING_FACTS],
      additionalProperties: false,
      properties: {
        bookingId: { type: 'string' },
        kind: { type: 'string', enum: [...UPCOMING_KINDS] },
        start: { type: 'string', format: 'date-time' },
        end: nullable('string', { format: 'date-time' }),
        careUnit: ref('CareUnitRef'),
        ...bookingFacts,
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
  },
  paths: {
    '/inbox/messages': {
      get: {
        tags: ['citizen'],
        summary: "The citizen's messages, newest first",
        security: citizenSecurity,
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
        security: citizenSecurity,
        parameters: [messageId],
        responses: {
          '200': json(ref('Message'), 'The message'),
          '404': error('No such message for this citizen'),
          ...citizenErrors,
        },
      },
      delete: {
        tags: ['citizen'],
        summary: 'Deletes the message for the citizen (it is kept for audit)',
        security: citizenSecurity,
        parameters: [messageId],
        responses: {
          '204': { description: 'Deleted' },
          '404': error('No such message for this citizen'),
          ...citizenErrors,
        },
      },
    },
    '/inbox/messages/{id}/read': {
      post: {
        tags: ['citizen'],
        summary: 'Marks the message read (the first reading time stays)',
        security: citizenSecurity,
        parameters: [messageId],
        responses: {
          '200': json(ref('Message'), 'The message, read'),
          '404': error('No such message for this citizen'),
          ...citizenErrors,
        },
      },
    },
    '/citizen/bookings': {
      get: {
        tags: ['citizen'],
        summary: 'Upcoming bookings and invitations with a set time, sorted by start',
        description:
          'Left out: times already started, times without a start (so also open invitations, which the ' +
          'citizen has as an inbox message), badly formatted start or end, no care unit, more than three years ahead.',
        security: citizenSecurity,
        responses: {
          '200': listOf('UpcomingBooking', 'The upcoming times', closed),
          ...citizenErrors,
        },
      },
    },
    '/citizen/care-units': {
      get: {
        tags: ['citizen'],
        summary: "The citizen's care-unit relations, most recent first",
        security: citizenSecurity,
        responses: {
          '200': listOf('CareUnit', 'The care units', closed),
          ...citizenErrors,
        },
      },
    },
  },
};
