// The generic configuration check (src/config.ts): one table per kind of value (good, wrong, unset,
// default), secrets never echoed, every problem of one start reported together, and the schema's
// defaults agreeing with docs/OPERATIONS.md's table.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_SCHEMA,
  ConfigError,
  VARIABLE_KINDS,
  loadConfig,
  readVariables,
  type Variable,
} from '../../src/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ei-config-schema-'));
const readable = path.join(directory, 'cert.pem');
fs.writeFileSync(readable, 'certificate');

interface Row {
  kind: (typeof VARIABLE_KINDS)[number];
  variable: Variable<unknown>;
  good: string;
  value: unknown;
  wrong: string;
  problem: RegExp;
  /** What an unset variable is. */
  fallback: unknown;
}

const ROWS: Row[] = [
  {
    kind: 'integer',
    variable: { kind: 'integer', fallback: 7, min: 1, max: 10, description: 'd' },
    good: '10',
    value: 10,
    wrong: '11',
    problem: /X must be between 1 and 10, got "11"/,
    fallback: 7,
  },
  {
    kind: 'integer',
    variable: { kind: 'integer', fallback: 7, min: 1, max: 10, description: 'd' },
    good: ' 1 ',
    value: 1,
    wrong: '1.5',
    problem: /X must be a whole number/,
    fallback: 7,
  },
  {
    kind: 'boolean',
    variable: { kind: 'boolean', fallback: undefined, description: 'd' },
    good: 'false',
    value: false,
    wrong: 'yes',
    problem: /X must be "true" or "false", got "yes"/,
    fallback: undefined,
  },
  {
    kind: 'enum',
    variable: { kind: 'enum', values: ['qa', 'prod'], fallback: 'qa', description: 'd' },
    good: 'prod',
    value: 'prod',
    wrong: 'test',
    problem: /X must be one of qa, prod/,
    fallback: 'qa',
  },
  {
    kind: 'list',
    variable: { kind: 'list', values: ['web', 'worker'], fallback: [], description: 'd' },
    good: 'web, worker,',
    value: ['web', 'worker'],
    wrong: 'web,cron',
    problem: /X may only contain web, worker; got "cron"/,
    fallback: [],
  },
  {
    kind: 'url',
    variable: { kind: 'url', fallback: undefined, description: 'd' },
    good: 'https://a.example/x',
    value: 'https://a.example/x',
    wrong: 'javascript:alert(1)',
    problem: /X must be an http\(s\) URL/,
    fallback: undefined,
  },
  {
    kind: 'url',
    variable: { kind: 'url', plain: true, fallback: undefined, description: 'd' },
    good: 'https://a.example/p///',
    value: 'https://a.example/p',
    wrong: 'https://u:p@a.example/',
    problem: /X must be a plain http\(s\) URL/,
    fallback: undefined,
  },
  {
    kind: 'url',
    variable: { kind: 'url', schemes: ['postgres'], fallback: undefined, description: 'd' },
    good: 'postgres://h1:5432,h2:5432/db',
    value: 'postgres://h1:5432,h2:5432/db',
    wrong: 'https://h/db',
    problem: /X must be a postgres:\/\/ URL/,
    fallback: undefined,
  },
  {
    kind: 'string',
    variable: {
      kind: 'string',
      pattern: /^[a-z]{1,5}$/,
      patternText: 'must be 1-5 letters',
      fallback: 'abc',
      description: 'd',
    },
    good: 'xyz',
    value: 'xyz',
    wrong: 'toolong',
    problem: /X must be 1-5 letters/,
    fallback: 'abc',
  },
  {
    kind: 'file',
    variable: { kind: 'file', fallback: undefined, description: 'd' },
    good: readable,
    value: readable,
    wrong: path.join(directory, 'missing.pem'),
    problem: /X: cannot read .*missing\.pem \(ENOENT\)/,
    fallback: undefined,
  },
  {
    kind: 'file',
    variable: { kind: 'file', fallback: undefined, description: 'd' },
    good: readable,
    value: readable,
    wrong: directory,
    problem: /X: cannot read .* \(not a file\)/,
    fallback: undefined,
  },
  {
    kind: 'path',
    variable: { kind: 'path', fallback: './data', description: 'd' },
    good: 'x/y',
    value: path.resolve('x/y'),
    wrong: '',
    problem: /never/,
    fallback: './data',
  },
  {
    kind: 'hourRange',
    variable: { kind: 'hourRange', fallback: { from: 21, to: 8 }, emptyMeansNone: true, description: 'd' },
    good: '22-07',
    value: { from: 22, to: 7 },
    wrong: '24-07',
    problem: /X must look like "21-08"/,
    fallback: { from: 21, to: 8 },
  },
];

describe('each kind of value', () => {
  it('every kind has a row', () => {
    expect(new Set(ROWS.map((row) => row.kind))).toEqual(new Set(VARIABLE_KINDS));
  });
  for (const row of ROWS) {
    it(`${row.kind}: "${row.good}" accepted, unset and empty give the default, "${row.wrong}" refused`, () => {
      const schema = { X: row.variable };
      expect(readVariables(schema, { X: row.good })).toEqual({
        values: { X: row.value },
        problems: [],
        wrong: new Set(),
      });
      expect(readVariables(schema, {}).values.X).toEqual(row.fallback);
      const empty = readVariables(schema, { X: '  ' });
      expect(empty.problems).toEqual([]);
      expect(empty.values.X).toEqual(row.variable.emptyMeansNone ? undefined : row.fallback);
      if (row.wrong === '') return; // a path is never wrong: it is resolved against the working directory
      const wrong = readVariables(schema, { X: row.wrong });
      expect(wrong.problems).toHaveLength(1);
      expect(wrong.problems[0]).toMatch(row.problem);
      expect(wrong.wrong).toEqual(new Set(['X']));
    });
  }
  it('a default that depends on the machine is computed when unset', () => {
    let calls = 0;
    const schema = {
      X: { kind: 'integer', min: 0, max: 9, fallback: () => ++calls, description: 'd' } as Variable<number>,
    };
    expect(readVariables(schema, {}).values.X).toBe(1);
    expect(readVariables(schema, { X: '5' }).values.X).toBe(5);
  });
  it('a default that depends on other variables sees their values, whatever their order', () => {
    const schema = {
      FIRST: { kind: 'boolean', fallback: (values) => values.LAST === 'prod', description: 'd' } as Variable<boolean>,
      LAST: { kind: 'enum', values: ['qa', 'prod'], fallback: 'qa', description: 'd' } as Variable<string>,
    };
    expect(readVariables(schema, {}).values.FIRST).toBe(false);
    expect(readVariables(schema, { LAST: 'prod' }).values.FIRST).toBe(true);
    expect(readVariables(schema, { LAST: 'prod', FIRST: 'false' }).values.FIRST).toBe(false);
  });
  it('DEV_LOGIN: on by default only on the embedded defaults or the demo, never in production', () => {
    const cases: [Record<string, string>, boolean][] = [
      [{}, true],
      [{ DEMO: 'true', DATABASE_URL: 'postgres://h/db' }, true],
      [{ DATABASE_URL: 'postgres://h/db' }, false],
      [{ APP_ENVIRONMENT: 'prod' }, false],
      [{ NODE_ENV: 'production' }, false],
      [{ DEV_LOGIN: 'true', DATABASE_URL: 'postgres://h/db' }, true],
      [{ DEV_LOGIN: 'false' }, false],
    ];
    for (const [env, on] of cases) expect([env, loadConfig(env).developmentSignIn]).toEqual([env, on]);
  });
});

describe('secrets are never echoed', () => {
  const value = 'sk-live-0123456789';
  for (const [kind, variable, wrong] of [
    [
      'string with a minimum length',
      { kind: 'string', secret: true, minLength: { length: 32, unit: 'bytes' }, fallback: undefined, description: 'd' },
      value,
    ],
    [
      'url',
      { kind: 'url', secret: true, schemes: ['postgres'], fallback: undefined, description: 'd' },
      `mysql://user:${value}@h/db`,
    ],
    ['enum', { kind: 'enum', secret: true, values: ['a'], fallback: 'a', description: 'd' }, value],
    ['list', { kind: 'list', secret: true, values: ['a'], fallback: [], description: 'd' }, `a,${value}`],
  ] as const) {
    it(`${kind}: the problem names the variable, not the value`, () => {
      const { problems } = readVariables({ SECRET_X: variable as Variable<unknown> }, { SECRET_X: wrong });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('SECRET_X');
      expect(problems[0]).not.toContain(value);
    });
  }
  it('the real schema: every secret row is refused without its value', () => {
    const error = (() => {
      try {
        loadConfig({
          AUTH_JWT_SECRET: 'short-secret-0003',
          SESSION_SECRET: 'short-session-0004',
          DATABASE_URL: 'mysql://u:pw-0005@h/db',
        });
      } catch (caught) {
        return caught as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toHaveLength(3);
    for (const secret of ['short-secret-0003', 'short-session-0004', 'pw-0005'])
      expect(error!.message).not.toContain(secret);
  });
});

describe('every problem of one start is reported together', () => {
  it('wrong values of several kinds and a broken rule: one ConfigError naming each', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({
        PORT: 'eighty',
        APP_ENVIRONMENT: 'staging',
        ROLES: 'web,cron',
        INBOX_URL: 'ftp://x',
        TLS_CLIENT_CA: readable,
        WORKER_HEARTBEAT_SECONDS: '10',
        WORKER_DEAD_AFTER_SECONDS: '5',
      });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const named = ['PORT', 'APP_ENVIRONMENT', 'ROLES', 'INBOX_URL', 'TLS_CLIENT_CA', 'WORKER_DEAD_AFTER_SECONDS'];
    expect(error!.problems).toHaveLength(named.length);
    named.forEach((name, index) => expect(error!.problems[index]).toContain(name));
  });
  it('a rule reading a variable that is already wrong is skipped (one problem, not two)', () => {
    expect(() => loadConfig({ WORKER_HEARTBEAT_SECONDS: '100', WORKER_DEAD_AFTER_SECONDS: '5' })).toThrow(
      expect.objectContaining({
        problems: [expect.stringContaining('WORKER_HEARTBEAT_SECONDS must be between 1 and 60')],
      }),
    );
  });
});

describe("docs/OPERATIONS.md's defaults are the schema's", () => {
  it('each row of one variable with a fixed default shows it (numbers plain, words in backticks)', () => {
    const docs = fs.readFileSync(path.join(ROOT, 'docs/OPERATIONS.md'), 'utf8');
    const section = docs.slice(
      docs.indexOf('## Configuration'),
      docs.indexOf('\n## ', docs.indexOf('## Configuration') + 1),
    );
    const schema = CONFIG_SCHEMA as Record<string, Variable<unknown>>;
    const shown = (fallback: unknown): string | undefined =>
      typeof fallback === 'number' ? String(fallback) : typeof fallback === 'string' ? `\`${fallback}\`` : undefined;
    const compared: string[] = [];
    for (const line of section.split('\n')) {
      const match = /^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \|/.exec(line);
      const expected = match && shown(schema[match[1]!]?.fallback);
      if (!match || expected === undefined) continue;
      expect(`${match[1]}: ${match[2]!.trim()}`).toBe(`${match[1]}: ${expected}`);
      compared.push(match[1]!);
    }
    // Every variable of one row with a fixed default was compared (MAIL_FROM and OIDC_PERSONAL_NUMBER_CLAIM share rows).
    const fixed = Object.keys(schema).filter((name) => shown(schema[name]!.fallback) !== undefined);
    expect(fixed.filter((name) => !compared.includes(name))).toEqual(['MAIL_FROM', 'OIDC_PERSONAL_NUMBER_CLAIM']);
  });
});
