// Every component's tables, gathered for drizzle-kit and for the typed query builder.
export * from '../activation-registry/schema.js';
export * from '../process-notifications/schema.js';
export * from '../queue/schema.js';
export * from '../inbox/schema.js';
export * from '../message-engine/schema.js';
export * from '../channels/schema.js';
export * from '../source-activity/schema.js';
export * from '../web/schema.js';
