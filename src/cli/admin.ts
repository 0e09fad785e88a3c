// npm run admin -- <command>: the activation registry's operations from the command line, on the
// database of the configuration (DATABASE_URL, or the embedded one under DATA_DIR), with the same rules
// and audit as the API. The audit actor is cli:<operating system user>.
import 'dotenv/config';
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  createCareUnitAdministration,
  createSourceSystemRegistry,
  RegistryError,
  ENVIRONMENTS,
  SOURCE_SYSTEM_MODES,
  type CareUnitLoad,
  type GuardedUnit,
  type SourceSystem,
  type SourceSystemRegistry,
} from '../activation-registry/index.js';
import { checkLoad } from '../activation-registry/index.js';
import {
  checkChange,
  checkEnvironment,
  checkRegistration,
  describeProblems,
  type FieldProblem,
} from '../activation-registry/index.js';
import { heldCounts } from '../inbox/index.js';
import { ConfigError, loadConfig, type Environment } from '../config.js';
import { openDatabase, type Database } from '../db/index.js';
import { DatabaseInUseError } from '../db/index.js';

// The choices come from the constant lists, so that the usage text cannot drift from what is accepted.
const ENV = ENVIRONMENTS.join('|');
const MODE = SOURCE_SYSTEM_MODES.join('|');
const USAGE = `Usage: npm run admin -- <command> [options]

  source-systems list   [--environment ${ENV}] [--all] [--json]
  source-systems add    --environment ${ENV} --hsa-id <HSA-id> --name <name> [--mode ${MODE}] [--json]
  source-systems change (--id <id> | --environment ${ENV} --hsa-id <HSA-id>) [--name <name>] [--mode ${MODE}] [--json]
  source-systems remove (--id <id> | --environment ${ENV} --hsa-id <HSA-id>) [--json]
  audit                 [--limit <n>] [--json]

  care-units loads      [--environment ${ENV}] [--all] [--json]
  care-units load       --environment ${ENV} --logical-address <HSA-id> --until <time>
                        [--from <time>] [--note <text>] [--json]
  care-units end-load   --id <id> [--json]
  care-units list       [--environment ${ENV}] [--json]
  care-units release    --environment ${ENV} --logical-address <HSA-id> [--json]
  care-units drop       --environment ${ENV} --logical-address <HSA-id> [--json]

remove deactivates: the registration stays in the history. --all lists deactivated ones too.
Times: "2026-12-01T14:00" (Swedish time) or ISO 8601 with a zone. load: the care unit's posts delivered
in the period are stored without messages; end-load ends a period now. list: care units the flood guard
watches or holds; release: their held messages become messages (oldest first); drop: they are deleted
(the bookings stay). The running service carries out a release or drop within seconds.
Exit codes: 0 done, 1 unexpected error, 2 wrong arguments or values, 3 not found,
4 conflict (already registered, or deactivated), 5 database not available.`;

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, conflict: 4, unavailable: 5 } as const;

class UsageError extends Error {}
class DatabaseUnavailableError extends Error {}

const OPTIONS = {
  environment: { type: 'string' },
  'hsa-id': { type: 'string' },
  name: { type: 'string' },
  mode: { type: 'string' },
  id: { type: 'string' },
  'logical-address': { type: 'string' },
  from: { type: 'string' },
  until: { type: 'string' },
  note: { type: 'string' },
  limit: { type: 'string' },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function actor(): string {
  let user: string | undefined;
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): fall back to the environment.
  }
  return `cli:${user || process.env.USER || 'unknown'}`;
}

function only(values: Values, allowed: (keyof Values)[], command: string): void {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && key !== 'json' && key !== 'help' && !allowed.includes(key as keyof Values)) {
      throw new UsageError(`--${key} is not an option of "${command}"`);
    }
  }
}

function environmentOf(values: Values): Environment | undefined {
  if (values.environment === undefined) return undefined;
  const problems: FieldProblem[] = [];
  const environment = checkEnvironment(values.environment, problems);
  if (!environment) throw new UsageError(problems[0]!.message);
  return environment;
}

/** The registration a change or remove is about: by --id, or by --environment and --hsa-id. */
async function target(registry: SourceSystemRegistry, values: Values): Promise<number> {
  if (values.id !== undefined) {
    if (values['hsa-id'] !== undefined || values.environment !== undefined)
      throw new UsageError('give either --id, or --environment with --hsa-id');
    if (!/^[1-9][0-9]{0,8}$/.test(values.id))
      throw new UsageError(`--id must be a registration id (a whole number), got "${values.id}"`);
    return Number(values.id);
  }
  const environment = environmentOf(values);
  const hsaId = values['hsa-id'];
  if (!environment || hsaId === undefined) throw new UsageError('give --id, or --environment with --hsa-id');
  const live = await registry.findLive(environment, hsaId);
  if (!live) throw new RegistryError('not_found', `${hsaId} is not registered (live) in ${environment}`);
  return live.id;
}

function registrationOf(values: Values): Record<string, unknown> {
  return {
    environment: values.environment,
    hsaId: values['hsa-id'],
    name: values.name,
    ...(values.mode !== undefined && { mode: values.mode }),
  };
}

function changeOf(values: Values): Record<string, unknown> {
  return {
    ...(values.name !== undefined && { name: values.name }),
    ...(values.mode !== undefined && { mode: values.mode }),
  };
}

/** Rows in aligned columns under a header, or `empty` when there are none. */
function columns(header: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return empty;
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function table(systems: SourceSystem[]): string {
  return columns(
    ['id', 'environment', 'hsaId', 'mode', 'name', 'deactivated'],
    systems.map((s) => [String(s.id), s.environment, s.hsaId, s.mode, s.name, s.deactivatedAt ?? '']),
    'No source systems.',
  );
}

function loadTable(loads: CareUnitLoad[]): string {
  return columns(
    ['id', 'environment', 'logicalAddress', 'from', 'until', 'ended', 'note'],
    loads.map((l) => [
      String(l.id),
      l.environment,
      l.logicalAddress,
      l.startsAt,
      l.endsAt,
      l.endedAt ?? '',
      l.note ?? '',
    ]),
    'No loading periods.',
  );
}

function unitTable(units: GuardedUnit[]): string {
  return columns(
    ['environment', 'logicalAddress', 'state', 'since', 'notifications', 'heldMessages', 'citizens'],
    units.map((u) => [
      u.environment,
      u.logicalAddress,
      u.hold ? u.hold.status : `watched until ${u.watchedUntil ?? ''}`,
      u.hold?.startedAt ?? u.firstSeenAt,
      String(u.hold ? u.hold.notifications : u.windowPosts),
      String(u.heldMessages),
      String(u.citizens),
    ]),
    'No care units watched or held.',
  );
}

function loadOf(values: Values): Record<string, unknown> {
  return {
    environment: values.environment,
    logicalAddress: values['logical-address'],
    until: values.until,
    ...(values.from !== undefined && { from: values.from }),
    ...(values.note !== undefined && { note: values.note }),
  };
}

function unitOf(values: Values): { environment: Environment; logicalAddress: string } {
  const environment = environmentOf(values);
  const logicalAddress = values['logical-address'];
  if (!environment || !logicalAddress) throw new UsageError('give --environment and --logical-address');
  return { environment, logicalAddress };
}

function describe(system: SourceSystem): string {
  return `${system.hsaId} in ${system.environment} (id ${system.id}, ${system.mode}): ${system.name}`;
}

async function run(argv: string[], open: () => Promise<Database>): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  const command = positionals.join(' ');
  const print = (value: unknown, text: string) => console.log(values.json ? JSON.stringify(value, null, 2) : text);

  // Arguments are checked before the database is opened, so a typo costs nothing.
  const known = [
    'source-systems list',
    'source-systems add',
    'source-systems change',
    'source-systems remove',
    'audit',
    'care-units loads',
    'care-units load',
    'care-units end-load',
    'care-units list',
    'care-units release',
    'care-units drop',
  ];
  if (!known.includes(command)) throw new UsageError(`unknown command "${command}"`);
  let limit = 20;
  if (command === 'source-systems list') {
    only(values, ['environment', 'all'], command);
    environmentOf(values);
  } else if (command === 'source-systems add') {
    only(values, ['environment', 'hsa-id', 'name', 'mode'], command);
    const checked = checkRegistration(registrationOf(values));
    if (!checked.ok) throw new RegistryError('invalid', describeProblems(checked.problems), checked.problems);
  } else if (command === 'source-systems change') {
    only(values, ['id', 'environment', 'hsa-id', 'name', 'mode'], command);
    const checked = checkChange(changeOf(values));
    if (!checked.ok) throw new RegistryError('invalid', describeProblems(checked.problems), checked.problems);
  } else if (command === 'source-systems remove') {
    only(values, ['id', 'environment', 'hsa-id'], command);
  } else if (command === 'care-units loads') {
    only(values, ['environment', 'all'], command);
    environmentOf(values);
  } else if (command === 'care-units load') {
    only(values, ['environment', 'logical-address', 'from', 'until', 'note'], command);
    const checked = checkLoad(loadOf(values), new Date());
    if (!checked.ok) throw new RegistryError('invalid', describeProblems(checked.problems), checked.problems);
  } else if (command === 'care-units end-load') {
    only(values, ['id'], command);
    if (values.id === undefined || !/^[1-9][0-9]{0,8}$/.test(values.id))
      throw new UsageError('--id must be a loading period id (a whole number)');
  } else if (command === 'care-units list') {
    only(values, ['environment'], command);
    environmentOf(values);
  } else if (command === 'care-units release' || command === 'care-units drop') {
    only(values, ['environment', 'logical-address'], command);
    unitOf(values);
  } else {
    only(values, ['limit'], command);
    if (values.limit !== undefined) {
      if (!/^[1-9][0-9]{0,3}$/.test(values.limit) || Number(values.limit) > 1000)
        throw new UsageError('--limit must be 1 to 1000');
      limit = Number(values.limit);
    }
  }

  const database = await open();
  const registry = createSourceSystemRegistry(database);
  const careUnits = createCareUnitAdministration(database, { heldCounts: () => heldCounts(database.orm) });
  try {
    switch (command) {
      case 'source-systems list': {
        const environment = environmentOf(values);
        const systems = await registry.list({
          ...(environment && { environment }),
          includeDeactivated: values.all === true,
        });
        print(systems, table(systems));
        break;
      }
      case 'source-systems add': {
        const system = await registry.register(actor(), registrationOf(values));
        print(system, `Registered ${describe(system)}`);
        break;
      }
      case 'source-systems change': {
        const id = await target(registry, values);
        const system = await registry.change(actor(), id, changeOf(values));
        print(system, `Changed ${describe(system)}`);
        break;
      }
      case 'source-systems remove': {
        const id = await target(registry, values);
        const system = await registry.deactivate(actor(), id);
        print(system, `Deactivated ${describe(system)}; it stays in the history`);
        break;
      }
      case 'care-units loads': {
        const environment = environmentOf(values);
        const loads = await careUnits.listLoads({
          ...(environment && { environment }),
          includeEnded: values.all === true,
        });
        print(loads, loadTable(loads));
        break;
      }
      case 'care-units load': {
        const load = await careUnits.addLoad(actor(), loadOf(values));
        print(
          load,
          `Loading period ${load.id}: ${load.logicalAddress} in ${load.environment} loads silently ` +
            `from ${load.startsAt} until ${load.endsAt}`,
        );
        break;
      }
      case 'care-units end-load': {
        const load = await careUnits.endLoad(actor(), Number(values.id));
        print(
          load,
          `Loading period ${load.id} of ${load.logicalAddress} ended; what is delivered from now on ` +
            `makes messages as usual`,
        );
        break;
      }
      case 'care-units list': {
        const environment = environmentOf(values);
        const units = await careUnits.listGuarded({ ...(environment && { environment }) });
        print(units, unitTable(units));
        break;
      }
      case 'care-units release':
      case 'care-units drop': {
        const { environment, logicalAddress } = unitOf(values);
        const release = command === 'care-units release';
        const unit = await careUnits[release ? 'release' : 'drop'](actor(), environment, logicalAddress);
        print(
          unit,
          release
            ? `Released: the ${unit.heldMessages} held messages of ${logicalAddress} become messages ` +
                `(oldest first) within seconds`
            : `Dropped: the ${unit.heldMessages} held messages of ${logicalAddress} are deleted within ` +
                `seconds; the bookings stay`,
        );
        break;
      }
      case 'audit': {
        const entries = await registry.audit({ limit });
        print(
          entries,
          entries.map((e) => `${e.at}  ${e.actor}  ${e.action}  ${e.entity} ${e.entityId}`).join('\n') ||
            'No changes yet.',
        );
        break;
      }
    }
    return EXIT.ok;
  } finally {
    await database.close();
  }
}

async function main(): Promise<number> {
  try {
    const config = loadConfig();
    return await run(process.argv.slice(2), async () => {
      try {
        return await openDatabase({
          databaseUrl: config.databaseUrl,
          dataDir: `${config.dataDir}/pglite`,
          maxConnections: 1,
        });
      } catch (error) {
        if (error instanceof DatabaseInUseError) throw error;
        const where = config.databaseUrl ? new URL(config.databaseUrl).host : `${config.dataDir}/pglite`;
        throw new DatabaseUnavailableError(
          `The database (${where}) is not available: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    });
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof ConfigError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`admin: ${(error as Error).message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    if (error instanceof RegistryError) {
      console.error(`admin: ${error.message}`);
      // conflict: duplicate, deactivated, not_held, load_ended
      return error.kind === 'invalid' ? EXIT.usage : error.kind === 'not_found' ? EXIT.notFound : EXIT.conflict;
    }
    if (error instanceof DatabaseInUseError || error instanceof DatabaseUnavailableError) {
      console.error(`admin: ${error.message}`);
      return EXIT.unavailable;
    }
    console.error('admin: failed:', error instanceof Error ? error.message : error);
    return EXIT.failed;
  }
}

main().then((code) => process.exit(code));
