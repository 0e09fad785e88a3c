// The citizen's JSON API (CONTRACT §4): /api/inbox/messages... and /api/citizen/bookings, /care-units.
// The bearer token's `sub` is the only source of whose data is read: another citizen's message id
// answers 404 exactly like an id that does not exist, and another citizen's cursor is refused.
import express, { type Request, type Router } from 'express';
import { citizenOf, type Authenticator } from '../auth/index.js';
import { HttpError, jsonErrorHandler, jsonNotFound } from '../http/index.js';
import type { Logger } from '../logging.js';
import { InvalidCursorError, MAX_PAGE_SIZE, type InboxStore } from './inbox-store.js';

export interface CitizenApiDependencies {
  store: InboxStore;
  authenticator: Authenticator;
  log: Logger;
}

function queryText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, 'invalid_request', `${name} may be given once, as text`);
  return value;
}

/** A message id from the path; anything that cannot be an id is simply not found. */
function messageIdOf(req: Request): number {
  const raw = String(req.params.id ?? '');
  const id = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw new HttpError(404, 'not_found', 'No such message');
  return id;
}

const notFound = () => new HttpError(404, 'not_found', 'No such message');

/** `/inbox/...` and `/citizen/bookings|care-units`, to be mounted under `/api`. */
export function citizenApiRouter(deps: CitizenApiDependencies): Router {
  const { store, authenticator, log } = deps;
  const router = express.Router();
  // Only these paths: the router is mounted at /api beside the other components' routers.
  router.use(
    ['/inbox', '/citizen/bookings', '/citizen/care-units'],
    authenticator.requireCitizen,
    (_req, res, next) => {
      // Personal data: never kept by a browser or a shared cache. Producer text in the JSON stays data:
      // a browser must not sniff the answer into HTML.
      res.set('Cache-Control', 'no-store');
      res.set('X-Content-Type-Options', 'nosniff');
      next();
    },
  );

  router.get('/inbox/messages', async (req, res) => {
    const limitText = queryText(req, 'limit');
    if (limitText !== undefined && (!/^[1-9][0-9]{0,3}$/.test(limitText) || Number(limitText) > MAX_PAGE_SIZE)) {
      throw new HttpError(400, 'invalid_request', `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
    }
    const cursor = queryText(req, 'cursor');
    try {
      const page = await store.listMessages(citizenOf(res).personalNumber, {
        ...(limitText !== undefined && { limit: Number(limitText) }),
        ...(cursor !== undefined && { cursor }),
      });
      res.json(page);
    } catch (error) {
      if (error instanceof InvalidCursorError) {
        throw new HttpError(400, 'invalid_cursor', 'The cursor is not valid; start again from the first page');
      }
      throw error;
    }
  });

  router.get('/inbox/messages/:id', async (req, res) => {
    const message = await store.findMessage(citizenOf(res).personalNumber, messageIdOf(req));
    if (!message) throw notFound();
    res.json(message);
  });

  router.post('/inbox/messages/:id/read', async (req, res) => {
    const message = await store.markRead(citizenOf(res).personalNumber, messageIdOf(req));
    if (!message) throw notFound();
    res.json(message);
  });

  router.delete('/inbox/messages/:id', async (req, res) => {
    const id = messageIdOf(req);
    if (!(await store.hideMessage(citizenOf(res).personalNumber, id))) throw notFound();
    log.info({ messageId: id }, 'citizen deleted an inbox message (hidden, kept for audit)');
    res.status(204).end();
  });

  router.get('/citizen/bookings', async (_req, res) => {
    res.json({ items: await store.upcomingBookings(citizenOf(res).personalNumber) });
  });

  router.get('/citizen/care-units', async (_req, res) => {
    res.json({ items: await store.careUnits(citizenOf(res).personalNumber) });
  });

  // /api/inbox is this router's alone: an unknown path there is a JSON 404.
  router.use('/inbox', jsonNotFound);
  // Only errors of these routes: other /api routers come after this one.
  router.use(['/inbox', '/citizen/bookings', '/citizen/care-units'], jsonErrorHandler(log));
  return router;
}
