// Starts the real app in-process on a free port, against a test database.
import { Writable } from 'node:stream';
import { buildApp, type App, type AppOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { sourceSystems } from '../../src/activation-registry/schema.js';
import { createLogger } from '../../src/logging.js';
import { openTestDatabase, type TestDatabase } from './database.js';

export const TEST_CONSUMER_HSA_ID = 'SE-TEST-INBOX';

export interface TestApp {
  app: App;
  url: string;
  database: TestDatabase;
  /** Every log line the app wrote, as parsed JSON. */
  logs: Record<string, unknown>[];
  activate(hsaId: string, mode?: 'active' | 'silent', environment?: 'qa' | 'prod'): Promise<number>;
  close(): Promise<void>;
}

export async function startTestApp(
  env: Record<string, string> = {},
  options: Pick<AppOptions, 'hooks' | 'engine' | 'detailsFetcher'> = {},
): Promise<TestApp> {
  const database = await openTestDatabase();
  const config = loadConfig({ PORT: '0', CONSUMER_HSA_ID: TEST_CONSUMER_HSA_ID, DATA_DIR: '.tmp/test-data', ...env });
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger({ level: 'debug', destination });
  const app = await buildApp({ config, database, log, ...options });
  const url = await app.listen();
  return {
    app,
    url,
    database,
    logs,
    async activate(hsaId, mode = 'active', environment = 'qa') {
      const [row] = await database.orm
        .insert(sourceSystems)
        .values({ environment, hsaId, name: `Test system ${hsaId}`, mode })
        .returning({ id: sourceSystems.id });
      await app.directory.refresh();
      return row!.id;
    },
    async close() {
      await app.close();
      await database.close();
    },
  };
}
