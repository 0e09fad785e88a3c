// What the administrators' console shows, gathered from the components' own interfaces: the registry,
// the source-activity counters, the dead letters and the engine's trace. Small reads only: counters per
// hour, the partial index of dead letters, and one booking's rows by index.
import type { SourceSystem, SourceSystemRegistry } from '../activation-registry/index.js';
import type { Environment } from '../config.js';
import type { Database } from '../db/index.js';
import { countDeadLetters } from '../queue/index.js';
import {
  ACTIVITY_COUNTERS,
  type Counts,
  type SourceActivity,
  type UnregisteredSystem,
} from '../source-activity/index.js';

export interface SourceSystemActivity {
  environment: Environment;
  sourceSystem: string;
  /** The live registration, if any. */
  registration: { id: number; name: string; mode: string } | null;
  last24h: Counts;
  last7d: Counts;
  /** Dead letters waiting now (this deployment's environment only: its queue). */
  deadLettersNow: number;
  lastSeenAt: string | null;
}

export interface ConsoleData {
  database: Database;
  activity: SourceActivity;
  /** The environment this deployment's queue belongs to. */
  environment: Environment;
}

function zero(): Counts {
  return Object.fromEntries(ACTIVITY_COUNTERS.map((counter) => [counter, 0])) as Counts;
}

export async function sourceActivityOverview(
  deps: ConsoleData,
  registry: SourceSystemRegistry,
  only?: Environment,
): Promise<SourceSystemActivity[]> {
  const [live, statistics, dead] = await Promise.all([
    registry.list(only ? { environment: only } : {}),
    deps.activity.statistics(only),
    only === undefined || only === deps.environment ? countDeadLetters(deps.database) : Promise.resolve([]),
  ]);
  const rows = new Map<string, SourceSystemActivity>();
  const keyOf = (environment: string, system: string) => `${environment}\u001f${system.toUpperCase()}`;
  for (const system of live) {
    rows.set(keyOf(system.environment, system.hsaId), {
      environment: system.environment,
      sourceSystem: system.hsaId,
      registration: { id: system.id, name: system.name, mode: system.mode },
      last24h: zero(),
      last7d: zero(),
      deadLettersNow: 0,
      lastSeenAt: null,
    });
  }
  for (const stat of statistics) {
    const row = rows.get(keyOf(stat.environment, stat.sourceSystem));
    if (row) Object.assign(row, { last24h: stat.last24h, last7d: stat.last7d, lastSeenAt: stat.lastSeenAt });
    // Systems not registered now but with activity (deactivated, or never registered) are shown too.
    else rows.set(keyOf(stat.environment, stat.sourceSystem), { ...stat, registration: null, deadLettersNow: 0 });
  }
  for (const { sourceSystem, deadLetters } of dead) {
    const key = keyOf(deps.environment, sourceSystem);
    const row = rows.get(key) ?? {
      environment: deps.environment,
      sourceSystem: sourceSystem.toUpperCase(),
      registration: null,
      last24h: zero(),
      last7d: zero(),
      deadLettersNow: 0,
      lastSeenAt: null,
    };
    row.deadLettersNow += deadLetters;
    rows.set(key, row);
  }
  return [...rows.values()].sort(
    (a, b) => a.environment.localeCompare(b.environment) || a.sourceSystem.localeCompare(b.sourceSystem),
  );
}

export async function unregisteredSystems(
  deps: ConsoleData,
  registry: SourceSystemRegistry,
  only?: Environment,
): Promise<UnregisteredSystem[]> {
  const live: SourceSystem[] = await registry.list(only ? { environment: only } : {});
  const registered = new Map<Environment, Set<string>>();
  for (const system of live) {
    const set = registered.get(system.environment) ?? new Set<string>();
    set.add(system.hsaId.toUpperCase());
    registered.set(system.environment, set);
  }
  return deps.activity.unregistered(registered, only);
}
