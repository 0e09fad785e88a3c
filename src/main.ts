// Starts the service from the environment (a .env file may be read).
import 'dotenv/config';
import v8 from 'node:v8';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logging.js';
import { heapLimitWarning } from './operations/index.js';

/** The whole shutdown, calls in flight included (app.close cuts those at 20 s). */
const SHUTDOWN_LIMIT_MS = 30_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      // One line per problem: every wrong variable is named at once, not one per start.
      for (const problem of error.problems) console.error(`Configuration error: ${problem}`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger({ level: config.logLevel });
  const app = await buildApp({ config, log });
  const url = await app.listen();
  log.info(
    { url, environment: config.environment, database: app.database.kind, roles: [...config.roles] },
    'ei-inbox started',
  );
  const heapWarning = heapLimitWarning(v8.getHeapStatistics().heap_size_limit);
  if (heapWarning) log.warn(heapWarning);
  if (config.demo) {
    log.info(
      { start: `http://localhost:${new URL(url).port}/` },
      'DEMO: send the sample notifications with npm run demo:send (or the button on /admin), then ' +
        'read them at /inbox as the test person (see README)',
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'ei-inbox stopping');
    // Bounded: a hung database or provider must not keep a stopping pod forever (the platform would
    // SIGKILL it anyway; this exits first, with a line saying so). Nothing acknowledged is lost either way.
    const limit = setTimeout(() => {
      log.error({ signal }, 'ei-inbox did not stop in time; exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    limit.unref();
    try {
      await app.close();
      log.info({ signal }, 'ei-inbox stopped');
      process.exit(0);
    } catch (error) {
      log.error({ reason: error instanceof Error ? error.message : String(error) }, 'ei-inbox stopped with an error');
      process.exit(1);
    }
  };
  // A bug that escapes every handler: one structured, masked line, then exit for the supervisor to
  // restart. Nothing acknowledged is lost: all state is in the database (or Kafka).
  const fatal = (kind: string) => (error: unknown) => {
    log.fatal(
      { kind, reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) },
      'ei-inbox stopping on an unhandled error',
    );
    process.exit(1);
  };
  process.on('uncaughtException', fatal('uncaughtException'));
  process.on('unhandledRejection', fatal('unhandledRejection'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  // A configuration problem only found while building (a generated secret file that is too short, a
  // component's own check) is still a configuration problem: exit 2, as at loadConfig.
  if (error instanceof ConfigError) {
    for (const problem of error.problems) console.error(`Configuration error: ${problem}`);
    process.exit(2);
  }
  console.error('ei-inbox could not start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
