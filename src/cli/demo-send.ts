// npm run demo:send [-- --url http://localhost:8080]
// Asks a service started with `npm run demo` to send the sample notifications of every use case
// (POST /api/admin/demo/notifications), with an administrator token signed by the configured HS256
// secret (as `npm run token -- admin` makes). Development only: the service refuses DEMO in production.
import 'dotenv/config';
import { parseArgs } from 'node:util';
import { signDevelopmentToken } from '../auth/index.js';
import { ConfigError, loadConfig } from '../config.js';
import { DEMO_API_PATH } from '../demo/index.js';

const USAGE = 'Usage: npm run demo:send [-- --url http://localhost:8080]';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: { url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  let token: string;
  let base: string;
  try {
    const config = loadConfig();
    base = parsed.values.url ?? `http://localhost:${config.port}`;
    // Trailing slashes off without `/\/+$/`, which backtracks quadratically (test/security/regex-redos.test.ts).
    while (base.endsWith('/')) base = base.slice(0, -1);
    token = await signDevelopmentToken(config, 'admin', 'demo:send');
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  let response: Response;
  try {
    response = await fetch(`${base}${DEMO_API_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
  } catch {
    console.error(`No service answers at ${base}: start it first with npm run demo`);
    return 5;
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status === 404) {
    console.error(`The service at ${base} does not run the demo: start it with npm run demo (DEMO=true)`);
    return 3;
  }
  if (!response.ok) {
    const error = body.error as { message?: string } | undefined;
    console.error(`Not sent (HTTP ${response.status}): ${error?.message ?? 'no reason given'}`);
    return response.status === 409 ? 4 : 1;
  }
  console.log(
    `Sent ${String(body.transactions)} sample notifications in ${String(body.calls)} calls. ` +
      `Open ${base}/inbox and sign in as 19121212-1212; the cancellations arrive after ` +
      `${String(body.cancellationsAfterSeconds)} s (the rebooking window).`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('demo:send:', error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
