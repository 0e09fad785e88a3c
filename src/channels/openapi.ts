// The OpenAPI fragment of the channels: the citizen's notification settings.
// Composed with the other components' fragments into /api/openapi.json (src/web/openapi.ts);
// test/inbox/openapi.test.ts keeps it true to the routes and their answers.
import { citizenErrors, citizenSecurity, error, json, nullable, ref, type OpenApiFragment } from '../web/index.js';

export const channelsOpenApi: OpenApiFragment = {
  schemas: {
    CitizenSettings: {
      type: 'object',
      required: ['sms', 'email'],
      additionalProperties: false,
      properties: {
        sms: {
          type: 'object',
          required: ['enabled', 'phone'],
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            phone: nullable('string', { description: 'E.164, e.g. +46701234567' }),
          },
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
  },
  paths: {
    '/citizen/settings': {
      get: {
        tags: ['citizen'],
        summary: "The citizen's notification settings",
        security: citizenSecurity,
        responses: { '200': json(ref('CitizenSettings'), 'The settings'), ...citizenErrors },
      },
      put: {
        tags: ['citizen'],
        summary: 'Changes the notification settings',
        security: citizenSecurity,
        requestBody: { required: true, content: { 'application/json': { schema: ref('CitizenSettingsInput') } } },
        responses: {
          '200': json(ref('CitizenSettings'), 'The settings now in force'),
          '400': error('A bad field (code invalid_settings; details.problems names each); nothing is stored'),
          ...citizenErrors,
        },
      },
    },
  },
};
