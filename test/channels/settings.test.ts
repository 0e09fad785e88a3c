// Citizen channel settings: the API (CONTRACT §4), validation, normalisation and isolation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevelopmentToken } from '../../src/auth/index.js';
import {
  mergeSettings,
  normaliseEmailAddress,
  normalisePhoneNumber,
  DEFAULT_SETTINGS,
} from '../../src/channels/settings.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const SECRET = 'channels-settings-test-secret-0123456789abcdef';
const ANNA = '191212121212';
const BERTIL = '200001012384';

let testApp: TestApp;
let annaToken: string;
let bertilToken: string;

async function call(method: string, token: string | undefined, body?: unknown): Promise<{ status: number; json: any }> {
  // `any`: the tests read arbitrary JSON answers.
  const response = await fetch(`${testApp.url}/api/citizen/settings`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

beforeAll(async () => {
  testApp = await startTestApp({ AUTH_JWT_SECRET: SECRET });
  const config = { auth: { jwtSecret: SECRET, jwksUrl: undefined }, dataDir: '.tmp/test-data' };
  annaToken = await signDevelopmentToken(config, 'citizen', ANNA);
  bertilToken = await signDevelopmentToken(config, 'citizen', BERTIL);
});

afterAll(async () => {
  await testApp?.close();
});

describe('phone numbers', () => {
  it.each([
    ['0701234567', '+46701234567'],
    ['070-123 45 67', '+46701234567'],
    ['073 123 45 67', '+46731234567'],
    ['+46701234567', '+46701234567'],
    ['+46 70 123 45 67', '+46701234567'],
    ['+46 070 123 45 67', '+46701234567'],
    ['0046761234567', '+46761234567'],
    ['+4915112345678', '+4915112345678'],
    ['+4792345678', '+4792345678'],
  ])('When "%s" is given, then it is stored as %s', (raw, expected) => {
    expect(normalisePhoneNumber(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['081234567', 'a Swedish landline'],
    ['+4681234567', 'a Swedish landline in E.164'],
    ['070123456', 'too short'],
    ['07012345678', 'too long'],
    ['701234567', 'no prefix'],
    ['+12', 'too short E.164'],
    ['070 123 45 6a', 'letters'],
    ['tel:+46701234567', 'a URI'],
    ['+0701234567', 'country code 0'],
  ])('When "%s" (%s) is given, then it is refused', (raw) => {
    expect(normalisePhoneNumber(raw).ok).toBe(false);
  });
});

describe('e-mail addresses', () => {
  it.each([
    ['anna@example.se', 'anna@example.se'],
    ['  Anna.Svensson+1177@Example.SE ', 'Anna.Svensson+1177@example.se'],
  ])('When "%s" is given, then it is stored as %s', (raw, expected) => {
    expect(normaliseEmailAddress(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    'anna',
    'anna@',
    '@example.se',
    'anna@example',
    'an na@example.se',
    'anna@@example.se',
    'anna@exa_mple.se',
    'a..b@example.se',
    `${'a'.repeat(65)}@example.se`,
  ])('When "%s" is given, then it is refused', (raw) => {
    expect(normaliseEmailAddress(raw).ok).toBe(false);
  });
});

describe('merging a change', () => {
  it('When a channel is enabled without a number, then the field is named', () => {
    expect(() => mergeSettings(DEFAULT_SETTINGS, { sms: { enabled: true } })).toThrow(/sms\.phone: is needed/);
  });
  it('When only e-mail is given, then SMS is kept as it was', () => {
    const current = { sms: { enabled: true, phone: '+46701234567' }, email: { enabled: false, address: null } };
    expect(mergeSettings(current, { email: { enabled: true, address: 'a@example.se' } })).toEqual({
      sms: { enabled: true, phone: '+46701234567' },
      email: { enabled: true, address: 'a@example.se' },
    });
  });
  it('When a channel is turned off, then its address may stay for next time', () => {
    const current = { sms: { enabled: true, phone: '+46701234567' }, email: { enabled: false, address: null } };
    expect(mergeSettings(current, { sms: { enabled: false } }).sms).toEqual({ enabled: false, phone: '+46701234567' });
  });
});

describe('GET/PUT /api/citizen/settings', () => {
  it('When a citizen has never saved settings, then nothing is enabled', async () => {
    const { status, json } = await call('GET', annaToken);
    expect(status).toBe(200);
    expect(json).toEqual({ sms: { enabled: false, phone: null }, email: { enabled: false, address: null } });
  });

  it('When there is no token, then 401 and no settings', async () => {
    const { status, json } = await call('GET', undefined);
    expect(status).toBe(401);
    expect(json.error.code).toBe('unauthenticated');
  });

  it('When a citizen saves a Swedish mobile number and an address, then they are normalised and kept', async () => {
    const put = await call('PUT', annaToken, {
      sms: { enabled: true, phone: '070-123 45 67' },
      email: { enabled: true, address: 'anna@Example.SE' },
    });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({
      sms: { enabled: true, phone: '+46701234567' },
      email: { enabled: true, address: 'anna@example.se' },
    });
    const get = await call('GET', annaToken);
    expect(get.json).toEqual(put.json);
  });

  it('When another citizen reads settings, then they see only their own', async () => {
    const { status, json } = await call('GET', bertilToken);
    expect(status).toBe(200);
    expect(json).toEqual({ sms: { enabled: false, phone: null }, email: { enabled: false, address: null } });
    await call('PUT', bertilToken, { email: { enabled: true, address: 'bertil@example.se' } });
    const anna = await call('GET', annaToken);
    expect(anna.json.email.address).toBe('anna@example.se');
  });

  it('When the input is wrong, then 400 names each field and nothing is stored', async () => {
    const { status, json } = await call('PUT', annaToken, {
      sms: { enabled: 'yes', phone: '08-123 456 78' },
      email: { enabled: false, address: 'not-an-address' },
      fax: {},
    });
    expect(status).toBe(400);
    expect(json.error.code).toBe('invalid_settings');
    const fields = (json.error.details.problems as { field: string }[]).map((p) => p.field).sort();
    expect(fields).toEqual(['email.address', 'fax', 'sms.enabled', 'sms.phone']);
    expect(json.error.message).toContain('sms.phone');
    const after = await call('GET', annaToken);
    expect(after.json.sms.phone).toBe('+46701234567');
    expect(after.json.email).toEqual({ enabled: true, address: 'anna@example.se' });
  });

  it('When the body is not JSON, then 400 invalid_json', async () => {
    const { status, json } = await call('PUT', annaToken, '{nope');
    expect(status).toBe(400);
    expect(json.error.code).toBe('invalid_json');
  });

  it('When the citizen turns SMS off, then it stays off', async () => {
    const put = await call('PUT', annaToken, { sms: { enabled: false, phone: null } });
    expect(put.status).toBe(200);
    expect(put.json.sms).toEqual({ enabled: false, phone: null });
    expect((await call('GET', annaToken)).json.email.enabled).toBe(true);
  });

  it('When settings are saved, then the log holds neither the number nor the address', async () => {
    const text = JSON.stringify(testApp.logs);
    expect(text).not.toContain('701234567');
    expect(text).not.toContain('anna@');
    expect(text).not.toContain(ANNA);
  });
});
