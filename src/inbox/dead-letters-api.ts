// /api/admin/dead-letters: notifications the engine gave up on, with the reason, and an operator's retry.
import express, { type Router } from 'express';
import { adminOf, type Authenticator } from '../auth/index.js';
import { auditLog } from '../activation-registry/schema.js';
import type { Database } from '../db/database.js';
import { HttpError, jsonErrorHandler } from '../http/errors.js';
import type { Logger } from '../logging.js';
import { listDeadLetters, retryDeadLetter } from '../queue/in-database.js';

export function deadLettersRouter(deps: { database: Database; authenticator: Authenticator; log: Logger }): Router {
  const router = express.Router();
  router.use('/dead-letters', deps.authenticator.requireAdmin);

  router.get('/dead-letters', async (_req, res) => {
    res.json({ items: await listDeadLetters(deps.database) });
  });

  router.post('/dead-letters/:id/retry', async (req, res) => {
    const raw = String(req.params.id);
    if (!/^[1-9][0-9]{0,15}$/.test(raw)) throw new HttpError(404, 'not_found', `No dead letter with id ${raw}`);
    const id = Number(raw);
    const admin = adminOf(res);
    const retried = await retryDeadLetter(deps.database, id);
    if (!retried) throw new HttpError(404, 'not_found', `No dead letter with id ${id}`);
    await deps.database.orm.insert(auditLog).values({
      actor: admin.name,
      action: 'retry',
      entity: 'dead_letter',
      entityId: String(id),
      before: { status: 'dead' },
      after: { status: 'pending' },
    });
    deps.log.info({ notificationId: id, actor: admin.name }, 'dead letter queued again');
    res.json({ id, status: 'pending' });
  });

  router.use('/dead-letters', jsonErrorHandler(deps.log));
  return router;
}
