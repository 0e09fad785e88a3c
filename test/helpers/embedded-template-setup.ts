// Global setup of the `main` project on the embedded database: writes the embedded template (every
// migration applied, as `npm run build` writes it for a fresh DATA_DIR) once, so that each test file's
// in-memory PGlite starts from it instead of running PGlite's initdb and every migration again (about 4 s
// of CPU per database on a 2-core machine). The migrations themselves still run here, on PGlite, each run.
import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { writeEmbeddedTemplate } from '../../src/db/database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The template's path; empty on PostgreSQL (DATABASE_URL), where it is not used. */
    embeddedTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  if (process.env.DATABASE_URL) {
    project.provide('embeddedTemplate', '');
    return () => {};
  }
  fs.mkdirSync('.tmp', { recursive: true });
  const folder = fs.mkdtempSync(path.resolve('.tmp', 'test-template-'));
  const file = path.join(folder, 'embedded-template.tar.gz');
  await writeEmbeddedTemplate(file);
  project.provide('embeddedTemplate', file);
  return () => fs.rmSync(folder, { recursive: true, force: true });
}
