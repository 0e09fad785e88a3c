// npm run token -- citizen 191212121212 | admin <name> [--expires-in 12h]
// Prints a bearer token signed with the configured HS256 secret (development and tests).
import 'dotenv/config';
import { parseArgs } from 'node:util';
import { signDevelopmentToken } from '../auth/index.js';
import { ConfigError, loadConfig } from '../config.js';

const USAGE = `Usage:
  npm run token -- citizen <12-digit personal identity number> [--expires-in 12h]
  npm run token -- admin <name> [--expires-in 12h]
  npm run token -- support <name> [--expires-in 12h]   (administrator with the support role)`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: { 'expires-in': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const [kind, subject, ...rest] = parsed.positionals;
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if ((kind !== 'citizen' && kind !== 'admin' && kind !== 'support') || subject === undefined || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  try {
    const config = loadConfig();
    const expiresIn = parsed.values['expires-in'];
    console.log(await signDevelopmentToken(config, kind, subject, expiresIn ? { expiresIn } : {}));
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof TypeError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('token:', error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
