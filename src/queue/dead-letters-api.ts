// /api/admin/dead-letters: notifications the engine gave up on, with where from and why (no personal
// data), and an operator's retry of one, or of all of one source system (each retry audited through the
// registry's recordAudit, in the retry's transaction).
import express, { type Router } from 'express';
import { adminOf, type Authenticator } from '../auth/index.js';
import { recordAudit } from '../activation-registry/index.js';
import type { Database } from '../db/index.js';
import { HttpError, jsonErrorHandler } from '../http/index.js';
import type { Logger } from '../logging.js';
import { listDeadLetters, retryDeadLetter, retryDeadLettersOf } from './in-database.js';
import type { NotificationStatus } from './schema.js';

const MAX_SOURCE_SYSTEM_LENGTH = 64;

function sourceSystemOf(value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_SOURCE_SYSTEM_LENGTH) {
    throw new HttpError(
      400,
      'invalid_request',
      `sourceSystem is required: the source system's HSA-id (at most ${MAX_SOURCE_SYSTEM_LENGTH} characters)`,
    );
  }
  return value;
}

const DEAD: NotificationStatus = 'dead';
const PENDING: NotificationStatus = 'pending';

/** Retries one dead letter and audits it, in one transaction; false: there is no such dead letter. */
export async function retryOneDeadLetter(database: Database, actor: string, id: number): Promise<boolean> {
  return database.orm.transaction(async (tx) => {
    if (!(await retryDeadLetter(tx, id))) return false;
    await recordAudit(tx, {
      actor,
      action: 'retry',
      entity: 'dead_letter',
      entityId: String(id),
      before: { status: DEAD },
      after: { status: PENDING },
    });
    return true;
  });
}

/** Retries every dead letter of a source system and audits it, in one transaction; resolves to the ids queued again. */
export async function retryDeadLettersOfSystem(
  database: Database,
  actor: string,
  sourceSystem: string,
): Promise<number[]> {
  return database.orm.transaction(async (tx) => {
    const ids = await retryDeadLettersOf(tx, sourceSystem);
    if (ids.length > 0) {
      await recordAudit(tx, {
        actor,
        action: 'retry_all',
        entity: 'dead_letter',
        entityId: sourceSystem,
        before: { status: DEAD },
        after: { status: PENDING, notifications: ids.length, ids: ids.slice(0, 1000) },
      });
    }
    return ids;
  });
}

export function deadLettersRouter(deps: { database: Database; authenticator: Authenticator; log: Logger }): Router {
  const router = express.Router();
  router.use('/dead-letters', deps.authenticator.requireAdmin);
  router.use('/dead-letters', express.json({ limit: '4kb', strict: true }));

  router.get('/dead-letters', async (req, res) => {
    const sourceSystem = req.query.sourceSystem === undefined ? undefined : sourceSystemOf(req.query.sourceSystem);
    res.json({ items: await listDeadLetters(deps.database, 100, sourceSystem) });
  });

  router.post('/dead-letters/retry', async (req, res) => {
    const sourceSystem = sourceSystemOf((req.body as Record<string, unknown> | undefined)?.sourceSystem);
    const admin = adminOf(res);
    const ids = await retryDeadLettersOfSystem(deps.database, admin.name, sourceSystem);
    deps.log.info(
      { sourceSystem, notifications: ids.length, actor: admin.name },
      'dead letters of a source system queued again',
    );
    res.json({ sourceSystem, retried: ids.length, ids });
  });

  router.post('/dead-letters/:id/retry', async (req, res) => {
    const raw = String(req.params.id);
    if (!/^[1-9][0-9]{0,15}$/.test(raw))
      throw new HttpError(404, 'not_found', `No dead letter with id ${raw.slice(0, 20)}`);
    const id = Number(raw);
    const admin = adminOf(res);
    if (!(await retryOneDeadLetter(deps.database, admin.name, id)))
      throw new HttpError(404, 'not_found', `No dead letter with id ${id}`);
    deps.log.info({ notificationId: id, actor: admin.name }, 'dead letter queued again');
    res.json({ id, status: PENDING });
  });

  router.use('/dead-letters', jsonErrorHandler(deps.log));
  return router;
}
