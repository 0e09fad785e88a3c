// /api/admin/source-activity, /api/admin/unregistered-systems (and registering from that list),
// /api/admin/trace and /api/admin/trace/by-person (support role, audited with the reason given).
import express, { type Request, type Router } from 'express';
import {
  checkRegistration,
  ENVIRONMENT_CHOICES,
  registryHttpError,
  isEnvironment,
  type SourceSystemRegistry,
} from '../activation-registry/index.js';
import { adminOf, type Authenticator } from '../auth/index.js';
import type { Environment } from '../config.js';
import { HttpError, jsonErrorHandler } from '../http/index.js';
import { traceBooking } from '../message-engine/index.js';
import type { Logger } from '../logging.js';
import { sourceActivityOverview, unregisteredSystems, type ConsoleData } from './overview.js';
import { checkTraceByPerson, traceByPerson } from './trace-request.js';

function environmentOf(req: Request): Environment | undefined {
  const value = req.query.environment;
  if (value === undefined) return undefined;
  if (!isEnvironment(value)) throw new HttpError(400, 'invalid_request', `environment must be ${ENVIRONMENT_CHOICES}`);
  return value;
}

function text(req: Request, name: string, max: number): string {
  const value = req.query[name];
  if (typeof value !== 'string' || value.trim() === '')
    throw new HttpError(400, 'invalid_request', `${name} is required`);
  if (value.length > max) throw new HttpError(400, 'invalid_request', `${name} must be at most ${max} characters`);
  return value.trim();
}

export function adminConsoleApi(
  deps: ConsoleData & { registry: SourceSystemRegistry; authenticator: Authenticator; log: Logger },
): Router {
  const router = express.Router();
  const paths = ['/source-activity', '/unregistered-systems', '/trace'];
  router.use(paths, deps.authenticator.requireAdmin);
  router.use(paths, express.json({ limit: '4kb', strict: true }));

  router.get('/source-activity', async (req, res) => {
    res.json({ items: await sourceActivityOverview(deps, deps.registry, environmentOf(req)) });
  });

  router.get('/unregistered-systems', async (req, res) => {
    res.json({ items: await unregisteredSystems(deps, deps.registry, environmentOf(req)) });
  });

  // One step from the list: the system must have been seen unregistered in that environment.
  router.post('/unregistered-systems/register', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const checked = checkRegistration(body);
    if (!checked.ok)
      throw new HttpError(400, 'invalid_request', checked.problems.map((p) => p.message).join('; '), {
        problems: checked.problems,
      });
    const seen = await unregisteredSystems(deps, deps.registry, checked.value.environment);
    if (!seen.some((system) => system.sourceSystem === checked.value.hsaId)) {
      throw new HttpError(
        404,
        'not_seen',
        `${checked.value.hsaId} is not among the unregistered systems seen in ${checked.value.environment}`,
      );
    }
    const actor = adminOf(res).name;
    const system = await deps.registry.register(actor, checked.value).catch((error: unknown) => {
      throw registryHttpError(error);
    });
    deps.log.info(
      {
        sourceSystemId: system.id,
        hsaId: system.hsaId,
        environment: system.environment,
        actor,
        from: 'unregistered systems seen',
      },
      'source system registered',
    );
    res.status(201).location(`${req.baseUrl}/source-systems/${system.id}`).json(system);
  });

  router.get('/trace', async (req, res) => {
    const trace = await traceBooking(deps.database, text(req, 'sourceSystem', 64), text(req, 'bookingId', 200));
    res.json(trace);
  });

  // POST: the personal identity number stays out of URLs and access logs.
  router.post('/trace/by-person', async (req, res) => {
    const admin = adminOf(res);
    if (!admin.support)
      throw new HttpError(
        403,
        'forbidden',
        'Tracing by personal identity number needs the support role (claim "roles" with "support")',
      );
    const checked = checkTraceByPerson(req.body);
    if (!checked.ok) throw new HttpError(400, 'invalid_request', checked.message);
    const traces = await traceByPerson(deps, admin.name, checked, 'api');
    res.json({ items: traces });
  });

  router.use(paths, jsonErrorHandler(deps.log));
  return router;
}
