// /api/admin/source-systems, /api/admin/audit, and the care units' loading periods and flood-guard holds
// (/api/admin/care-unit-loads, /api/admin/care-units), for national administrators.
import express, { type Request, type Router } from 'express';
import { adminOf, type Authenticator } from '../auth/index.js';
import { HttpError, jsonErrorHandler } from '../http/index.js';
import type { Logger } from '../logging.js';
import { MAX_AUDIT_PAGE, RegistryError, type SourceSystemRegistry } from './registry.js';
import type { CareUnitAdministration } from './care-units.js';
import { checkEnvironment, type FieldProblem } from './validation.js';
import type { Environment } from './schema.js';

const STATUS: Record<RegistryError['kind'], { status: number; code: string }> = {
  invalid: { status: 400, code: 'invalid_request' },
  not_found: { status: 404, code: 'not_found' },
  duplicate: { status: 409, code: 'duplicate_source_system' },
  deactivated: { status: 409, code: 'source_system_deactivated' },
  not_held: { status: 409, code: 'care_unit_not_held' },
  load_ended: { status: 409, code: 'care_unit_load_ended' },
};

/** A registry's refusal as the API's answer (status, code, and the problems named); anything else as it is. */
export function toHttpError(error: unknown): unknown {
  if (!(error instanceof RegistryError)) return error;
  const { status, code } = STATUS[error.kind];
  return new HttpError(
    status,
    code,
    error.message,
    error.problems.length > 0 ? { problems: error.problems } : undefined,
  );
}

/** An id from the path; anything that cannot be an id is simply not found. */
function idOf(req: Request): number {
  const raw = String(req.params.id ?? '');
  const id = /^[1-9][0-9]{0,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id) || id > 2_147_483_647)
    throw new HttpError(404, 'not_found', `No source system with id ${raw}`);
  return id;
}

function queryText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, 'invalid_request', `${name} may be given once, as text`);
  return value;
}

function positiveInteger(req: Request, name: string, max: number): number | undefined {
  const raw = queryText(req, name);
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(raw) || Number(raw) > max) {
    throw new HttpError(
      400,
      'invalid_request',
      `${name} must be a whole number from 1 to ${max}, got "${raw.slice(0, 20)}"`,
    );
  }
  return Number(raw);
}

function invalid(problems: FieldProblem[]): HttpError {
  return new HttpError(400, 'invalid_request', problems.map((p) => p.message).join('; '), { problems });
}

export function adminApiRouter(deps: {
  registry: SourceSystemRegistry;
  careUnits: CareUnitAdministration;
  authenticator: Authenticator;
  log: Logger;
}): Router {
  const { registry, careUnits, log } = deps;
  const router = express.Router();
  router.use(deps.authenticator.requireAdmin);
  router.use(express.json({ limit: '16kb', strict: false }));

  router.get('/source-systems', async (req, res) => {
    const environmentText = queryText(req, 'environment');
    const problems: FieldProblem[] = [];
    const environment = environmentText === undefined ? undefined : checkEnvironment(environmentText, problems);
    if (problems.length > 0) throw invalid(problems);
    const includeText = queryText(req, 'includeDeactivated');
    if (includeText !== undefined && includeText !== 'true' && includeText !== 'false') {
      throw new HttpError(400, 'invalid_request', 'includeDeactivated must be "true" or "false"');
    }
    const items = await registry.list({
      ...(environment && { environment }),
      includeDeactivated: includeText === 'true',
    });
    res.json({ items });
  });

  router.get('/source-systems/:id', async (req, res) => {
    const id = idOf(req);
    const system = await registry.find(id);
    if (!system) throw new HttpError(404, 'not_found', `No source system with id ${id}`);
    res.json(system);
  });

  router.post('/source-systems', async (req, res) => {
    const actor = adminOf(res).name;
    const system = await registry.register(actor, req.body).catch((error: unknown) => {
      throw toHttpError(error);
    });
    log.info(
      { sourceSystemId: system.id, hsaId: system.hsaId, environment: system.environment, mode: system.mode, actor },
      'source system registered',
    );
    res.status(201).location(`${req.baseUrl}/source-systems/${system.id}`).json(system);
  });

  router.patch('/source-systems/:id', async (req, res) => {
    const id = idOf(req);
    const actor = adminOf(res).name;
    const system = await registry.change(actor, id, req.body).catch((error: unknown) => {
      throw toHttpError(error);
    });
    log.info({ sourceSystemId: id, mode: system.mode, actor }, 'source system changed');
    res.json(system);
  });

  router.delete('/source-systems/:id', async (req, res) => {
    const id = idOf(req);
    const actor = adminOf(res).name;
    const system = await registry.deactivate(actor, id).catch((error: unknown) => {
      throw toHttpError(error);
    });
    log.info(
      { sourceSystemId: id, hsaId: system.hsaId, environment: system.environment, actor },
      'source system deactivated',
    );
    res.json(system);
  });

  router.get('/audit', async (req, res) => {
    const limit = positiveInteger(req, 'limit', MAX_AUDIT_PAGE) ?? 100;
    const before = positiveInteger(req, 'before', Number.MAX_SAFE_INTEGER);
    const entity = queryText(req, 'entity');
    const found = await registry.audit({
      limit,
      ...(before !== undefined && { before }),
      ...(entity !== undefined && { entity }),
    });
    // Whose data a support look-up was about is for those with the support role (who audit each other).
    const support = adminOf(res).support;
    const items = found.map((item) =>
      item.entity === 'citizen' && !support ? { ...item, entityId: 'hidden (support role only)' } : item,
    );
    // A full page may have more behind it: the next page starts below the last id.
    res.json({ items, nextCursor: items.length === limit ? String(items.at(-1)!.id) : null });
  });

  router.get('/care-unit-loads', async (req, res) => {
    const environmentText = queryText(req, 'environment');
    const problems: FieldProblem[] = [];
    const environment = environmentText === undefined ? undefined : checkEnvironment(environmentText, problems);
    if (problems.length > 0) throw invalid(problems);
    const includeText = queryText(req, 'includeEnded');
    if (includeText !== undefined && includeText !== 'true' && includeText !== 'false') {
      throw new HttpError(400, 'invalid_request', 'includeEnded must be "true" or "false"');
    }
    res.json({
      items: await careUnits.listLoads({ ...(environment && { environment }), includeEnded: includeText === 'true' }),
    });
  });

  router.post('/care-unit-loads', async (req, res) => {
    const actor = adminOf(res).name;
    const load = await careUnits.addLoad(actor, req.body).catch((error: unknown) => {
      throw toHttpError(error);
    });
    log.info(
      {
        loadId: load.id,
        logicalAddress: load.logicalAddress,
        environment: load.environment,
        startsAt: load.startsAt,
        endsAt: load.endsAt,
        actor,
      },
      'care unit loading period set',
    );
    res.status(201).location(`${req.baseUrl}/care-unit-loads/${load.id}`).json(load);
  });

  router.delete('/care-unit-loads/:id', async (req, res) => {
    // Cut before the pattern sees it: an id has at most 10 digits.
    const raw = String(req.params.id ?? '').slice(0, 12);
    const id = /^[1-9][0-9]{0,8}$/.test(raw) ? Number(raw) : 0;
    const actor = adminOf(res).name;
    const load = await careUnits.endLoad(actor, id).catch((error: unknown) => {
      throw toHttpError(error);
    });
    log.info({ loadId: id, logicalAddress: load.logicalAddress, actor }, 'care unit loading period ended');
    res.json(load);
  });

  function unitOf(req: Request): { environment: Environment; logicalAddress: string } {
    const problems: FieldProblem[] = [];
    const environment = checkEnvironment(req.params.environment, problems);
    const logicalAddress = String(req.params.logicalAddress ?? '');
    if (problems.length > 0) throw invalid(problems);
    if (logicalAddress === '' || logicalAddress.length > 64) throw new HttpError(404, 'not_found', 'No such care unit');
    return { environment: environment!, logicalAddress };
  }

  router.get('/care-units', async (req, res) => {
    const environmentText = queryText(req, 'environment');
    const problems: FieldProblem[] = [];
    const environment = environmentText === undefined ? undefined : checkEnvironment(environmentText, problems);
    if (problems.length > 0) throw invalid(problems);
    res.json({ items: await careUnits.listGuarded({ ...(environment && { environment }) }) });
  });

  router.get('/care-units/:environment/:logicalAddress', async (req, res) => {
    const { environment, logicalAddress } = unitOf(req);
    const unit = await careUnits.findGuarded(environment, logicalAddress);
    if (!unit)
      throw new HttpError(404, 'not_found', `The flood guard has not seen ${logicalAddress} in ${environment}`);
    res.json(unit);
  });

  for (const decision of ['release', 'drop'] as const) {
    router.post(`/care-units/:environment/:logicalAddress/${decision}`, async (req, res) => {
      const { environment, logicalAddress } = unitOf(req);
      const actor = adminOf(res).name;
      const unit = await careUnits[decision](actor, environment, logicalAddress).catch((error: unknown) => {
        throw toHttpError(error);
      });
      log.info(
        { logicalAddress, environment, heldMessages: unit.heldMessages, actor },
        decision === 'release' ? 'held messages released' : 'held messages dropped',
      );
      res.json(unit);
    });
  }

  router.use(jsonErrorHandler(log));
  return router;
}
