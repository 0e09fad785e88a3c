// The inbox's web side, wired by src/app.ts under the `web` role: the citizen's JSON API, the /inbox
// pages (with OpenID Connect or the development sign-in). (Its part of the API description is
// openapi.ts, composed with the others' in src/web/openapi.ts.)
import type { Express } from 'express';
import type { Authenticator } from '../auth/index.js';
import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import type { Logger } from '../logging.js';
import { infoPagesRouter } from '../web/index.js';
import { createCitizenOidc } from '../web/index.js';
import { sessionSecretOf, type SessionManager } from '../web/index.js';
import { citizenApiRouter } from './citizen-api.js';
import { createInboxStore, type InboxStore } from './inbox-store.js';
import { inboxPageRouter } from './pages/inbox-page.js';

export {
  createInboxStore,
  InvalidCursorError,
  type InboxMessage,
  type InboxStore,
  type MessagePage,
} from './inbox-store.js';
export { upcomingBookings, leftOutReason, type UpcomingBooking } from './bookings.js';

export interface CitizenWebDependencies {
  config: Pick<Config, 'oidc' | 'developmentSignIn' | 'session' | 'dataDir' | 'publicBaseUrl' | 'bookingServiceUrl'>;
  database: Database;
  authenticator: Authenticator;
  sessions: SessionManager;
  log: Logger;
}

/** Mounts /api/inbox/..., /api/citizen/bookings|care-units, /inbox, /hjalp and /tillganglighet. */
export function mountCitizenInbox(app: Express, deps: CitizenWebDependencies): InboxStore {
  const { config, log } = deps;
  // The cursors' key comes from the session secret (its own HKDF label): no further secret to manage.
  const store = createInboxStore(deps.database, sessionSecretOf(config));
  const oidc =
    config.oidc.issuer !== undefined && config.oidc.clientId !== undefined
      ? createCitizenOidc({
          issuer: config.oidc.issuer,
          clientId: config.oidc.clientId,
          clientSecret: config.oidc.clientSecret,
          personalNumberClaim: config.oidc.personalNumberClaim,
        })
      : undefined;
  if (!oidc && config.developmentSignIn)
    log.warn('/inbox offers the development sign-in (no OIDC_ISSUER): not for real citizens');
  app.use(infoPagesRouter());
  app.use('/api', citizenApiRouter({ store, authenticator: deps.authenticator, log }));
  app.use(
    '/inbox',
    inboxPageRouter({
      store,
      database: deps.database,
      sessions: deps.sessions,
      oidc,
      developmentSignIn: config.developmentSignIn,
      // Configured, never taken from the request's Host header (loadConfig requires one of the two).
      redirectUri:
        config.oidc.redirectUri ??
        (config.publicBaseUrl !== undefined ? `${config.publicBaseUrl}/inbox/logga-in/callback` : undefined),
      bookingServiceUrl: config.bookingServiceUrl,
      log,
    }),
  );
  return store;
}
