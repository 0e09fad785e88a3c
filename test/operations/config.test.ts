// The configuration is validated once, at start: a wrong value of any variable stops the real service
// (src/main.ts as a child process) with exit code 2 and a line naming the variable, never echoing a secret
// (docs/OPERATIONS.md, "Configuration"); and the docs' table lists exactly the variables loadConfig reads.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ei-config-'));
}

/** Runs src/main.ts with only these variables (plus PATH); resolves with its exit code and output. */
function start(variables: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    DATA_DIR: tempDir(),
    PORT: '31301',
    ...variables,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    // Never left running: a value that is not refused would start the whole service.
    const stop = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('exit', () => clearTimeout(stop));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

const missing = path.join(os.tmpdir(), 'ei-config-no-such-file.pem');

// variable named in the message, the environment that is wrong in it, and the secret that must not be echoed.
const WRONG: { variable: string; env: Record<string, string>; secret?: string }[] = [
  // channels: Twilio's three variables together or none
  { variable: 'TWILIO_ACCOUNT_SID', env: { TWILIO_ACCOUNT_SID: 'AC-secret-sid-0001' }, secret: 'AC-secret-sid-0001' },
  {
    variable: 'TWILIO_AUTH_TOKEN',
    env: { TWILIO_AUTH_TOKEN: 'token-secret-0002', TWILIO_FROM: '+46700000000' },
    secret: 'token-secret-0002',
  },
  // auth: the HS256 secret's length, the JWKS URL
  { variable: 'AUTH_JWT_SECRET', env: { AUTH_JWT_SECRET: 'short-secret-0003' }, secret: 'short-secret-0003' },
  { variable: 'AUTH_JWKS_URL', env: { AUTH_JWKS_URL: 'not a url', AUTH_JWT_AUDIENCE: 'a', AUTH_JWT_ISSUER: 'i' } },
  // web: the session secret's length
  { variable: 'SESSION_SECRET', env: { SESSION_SECRET: 'short-session-0004' }, secret: 'short-session-0004' },
  // operations/tls: client CA without a certificate; certificate files that cannot be read
  { variable: 'TLS_CLIENT_CA', env: { TLS_CLIENT_CA: missing } },
  { variable: 'TLS_CERT', env: { TLS_CERT: missing, TLS_KEY: missing } },
  // details-fetcher: NTjP's client certificate files
  { variable: 'NTJP_TLS_CERT', env: { NTJP_TLS_CERT: missing, NTJP_TLS_KEY: missing } },
  { variable: 'NTJP_TLS_CA', env: { NTJP_TLS_CA: missing } },
];

describe('a wrong value stops the start', () => {
  // Each variable that a component used to check on its own (so that a wrong value exited 1, late):
  // loadConfig refuses it, naming the variable and never echoing a secret.
  for (const { variable, env, secret } of WRONG) {
    it(`${variable}: ConfigError naming it`, () => {
      let message = '';
      try {
        loadConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      expect(message).toContain(variable);
      if (secret !== undefined) expect(message).not.toContain(secret);
    });
  }

  // The real service: exit code 2 and the line on stderr (two processes, not one per variable: each costs
  // a start of src/main.ts; the mapping from ConfigError to exit 2 is the same for all).
  for (const { variable, env, secret } of WRONG.filter((wrong) =>
    ['AUTH_JWT_SECRET', 'TLS_CERT'].includes(wrong.variable),
  )) {
    it(`${variable}: src/main.ts exits 2`, async () => {
      const { code, output } = await start(env);
      expect(code).toBe(2);
      expect(output).toMatch(new RegExp(`Configuration error: .*${variable}`));
      if (secret !== undefined) expect(output).not.toContain(secret);
    }, 60_000);
  }
});

describe('every problem at once', () => {
  it('src/main.ts names each wrong variable on its own line before it exits 2', async () => {
    const { code, output } = await start({
      PORT: 'eighty',
      AUTH_JWT_SECRET: 'short-secret-0005',
      TLS_CLIENT_CA: missing,
      DEV_LOGIN: 'yes',
    });
    expect(code).toBe(2);
    const lines = output.split('\n').filter((line) => line.startsWith('Configuration error: '));
    expect(lines.map((line) => /[A-Z][A-Z0-9_]{2,}/.exec(line.slice(21))?.[0])).toEqual([
      'PORT',
      'TLS_CLIENT_CA',
      'AUTH_JWT_SECRET',
      'DEV_LOGIN',
    ]);
    expect(output).not.toContain('short-secret-0005');
  }, 60_000);
});

describe('docs/OPERATIONS.md lists every variable loadConfig reads', () => {
  it('read and documented are the same set', () => {
    const read = new Set<string>();
    const recording = (values: Record<string, string>) =>
      new Proxy(values, {
        get(target, name) {
          if (typeof name === 'string') read.add(name);
          return target[name as string];
        },
      });
    loadConfig(recording({}));
    loadConfig(recording({ APP_ENVIRONMENT: 'prod' }));
    const docs = fs.readFileSync(path.join(ROOT, 'docs/OPERATIONS.md'), 'utf8');
    const section = docs.slice(
      docs.indexOf('## Configuration'),
      docs.indexOf('\n## ', docs.indexOf('## Configuration') + 1),
    );
    const documented = new Set<string>();
    for (const line of section.split('\n')) {
      if (!line.startsWith('| `')) continue;
      const first = line.split('|')[1] ?? '';
      for (const match of first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) documented.add(match[1]!);
    }
    expect([...read].filter((name) => !documented.has(name)).sort()).toEqual([]);
    expect([...documented].filter((name) => !read.has(name)).sort()).toEqual([]);
  });
});
