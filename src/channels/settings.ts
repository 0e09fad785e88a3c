// The citizen's channel settings (CONTRACT §4): per channel, whether to be told of new messages, and where.
// Validate at the edge: phone numbers become E.164 (Swedish mobile `07...` -> `+467...`), e-mail addresses
// are checked; a bad field is a 400 naming the field, and nothing is stored.
import { eq, sql } from 'drizzle-orm';
import express, { type Router } from 'express';
import { citizenOf, type Authenticator } from '../auth/index.js';
import type { Database } from '../db/index.js';
import { HttpError, jsonErrorHandler } from '../http/index.js';
import type { Logger } from '../logging.js';
import { citizenChannelSettings, type Channel } from './schema.js';

export interface CitizenSettings {
  sms: { enabled: boolean; phone: string | null };
  email: { enabled: boolean; address: string | null };
}

/** What PUT accepts: each channel may be left out, and is then kept as it is. */
export interface CitizenSettingsInput {
  sms?: { enabled?: boolean; phone?: string | null };
  email?: { enabled?: boolean; address?: string | null };
}

export interface SettingsProblem {
  /** The field in the API's terms, e.g. `sms.phone`. */
  field: string;
  message: string;
}

export class SettingsError extends HttpError {
  override name = 'SettingsError';
  constructor(readonly problems: SettingsProblem[]) {
    super(400, 'invalid_settings', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems });
  }
}

export const DEFAULT_SETTINGS: CitizenSettings = Object.freeze({
  sms: Object.freeze({ enabled: false, phone: null }),
  email: Object.freeze({ enabled: false, address: null }),
}) as CitizenSettings;

type SettingsDatabase = Pick<Database, 'orm'>;

export async function readCitizenSettings(database: SettingsDatabase, resident: string): Promise<CitizenSettings> {
  const [row] = await database.orm
    .select()
    .from(citizenChannelSettings)
    .where(eq(citizenChannelSettings.resident, resident));
  if (!row) return { sms: { ...DEFAULT_SETTINGS.sms }, email: { ...DEFAULT_SETTINGS.email } };
  return {
    sms: { enabled: row.smsEnabled, phone: row.smsPhone },
    email: { enabled: row.emailEnabled, address: row.emailAddress },
  };
}

/**
 * Validates `input` (untrusted JSON) and stores it for `resident`; answers the settings now in force.
 * Throws SettingsError (an HttpError 400 naming each bad field) and then stores nothing.
 */
export async function saveCitizenSettings(
  database: SettingsDatabase,
  resident: string,
  input: unknown,
): Promise<CitizenSettings> {
  const current = await readCitizenSettings(database, resident);
  const next = mergeSettings(current, input);
  await database.orm
    .insert(citizenChannelSettings)
    .values({
      resident,
      smsEnabled: next.sms.enabled,
      smsPhone: next.sms.phone,
      emailEnabled: next.email.enabled,
      emailAddress: next.email.address,
    })
    .onConflictDoUpdate({
      target: citizenChannelSettings.resident,
      set: {
        smsEnabled: next.sms.enabled,
        smsPhone: next.sms.phone,
        emailEnabled: next.email.enabled,
        emailAddress: next.email.address,
        updatedAt: sql`now()`,
      },
    });
  return next;
}

/** The settings that `input` asks for on top of `current`; throws SettingsError. Pure, for tests. */
export function mergeSettings(current: CitizenSettings, input: unknown): CitizenSettings {
  const problems: SettingsProblem[] = [];
  if (!isObject(input))
    throw new SettingsError([{ field: '', message: 'the body must be a JSON object with "sms" and/or "email"' }]);
  for (const key of Object.keys(input)) {
    if (key !== 'sms' && key !== 'email')
      problems.push({ field: key, message: 'unknown field; only "sms" and "email" are settings' });
  }
  const sms = channel(input, 'sms', 'phone', current.sms.enabled, current.sms.phone, normalisePhoneNumber, problems);
  const email = channel(
    input,
    'email',
    'address',
    current.email.enabled,
    current.email.address,
    normaliseEmailAddress,
    problems,
  );
  if (problems.length > 0) throw new SettingsError(problems);
  return { sms: { enabled: sms.enabled, phone: sms.target }, email: { enabled: email.enabled, address: email.target } };
}

function channel(
  input: Record<string, unknown>,
  name: Channel,
  targetField: 'phone' | 'address',
  currentEnabled: boolean,
  currentTarget: string | null,
  normalise: (raw: string) => { ok: true; value: string } | { ok: false; message: string },
  problems: SettingsProblem[],
): { enabled: boolean; target: string | null } {
  const given = input[name];
  if (given === undefined) return { enabled: currentEnabled, target: currentTarget };
  if (!isObject(given)) {
    problems.push({ field: name, message: `must be an object { "enabled", "${targetField}" }` });
    return { enabled: currentEnabled, target: currentTarget };
  }
  for (const key of Object.keys(given)) {
    if (key !== 'enabled' && key !== targetField) {
      problems.push({ field: `${name}.${key}`, message: `unknown field; only "enabled" and "${targetField}"` });
    }
  }
  let enabled = currentEnabled;
  if (given.enabled !== undefined) {
    if (typeof given.enabled !== 'boolean')
      problems.push({ field: `${name}.enabled`, message: 'must be true or false' });
    else enabled = given.enabled;
  }
  let target = currentTarget;
  const raw = given[targetField];
  if (raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    target = null;
  } else if (typeof raw === 'string') {
    const checked = normalise(raw);
    if (checked.ok) target = checked.value;
    else problems.push({ field: `${name}.${targetField}`, message: checked.message });
  } else if (raw !== undefined) {
    problems.push({ field: `${name}.${targetField}`, message: 'must be text or null' });
  }
  if (enabled && target === null && !problems.some((p) => p.field === `${name}.${targetField}`)) {
    problems.push({ field: `${name}.${targetField}`, message: `is needed when ${name} is enabled` });
  }
  return { enabled, target };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Normalised = { ok: true; value: string } | { ok: false; message: string };

/**
 * A mobile number in E.164. Swedish mobile numbers (070, 072, 073, 076, 079: `07` + 8 digits) may be typed
 * nationally (`070-123 45 67`), with `0046` or with `+46`; other countries' numbers must be E.164 (`+` and
 * 8 to 15 digits). A Swedish number that is not a mobile number is refused: it cannot receive SMS.
 */
export function normalisePhoneNumber(raw: string): Normalised {
  const trimmed = raw.trim();
  if (trimmed.length > 32 || !/^[+0-9][0-9 ()-]*$/.test(trimmed)) {
    return { ok: false, message: 'must be a mobile number, e.g. 070-123 45 67 or +46701234567' };
  }
  let digits = trimmed.replace(/[ ()-]/g, '');
  if (digits.startsWith('00')) digits = `+${digits.slice(2)}`;
  if (digits.startsWith('0')) digits = `+46${digits.slice(1)}`;
  if (!digits.startsWith('+')) {
    return { ok: false, message: 'must start with 07 (a Swedish mobile number) or with + and a country code' };
  }
  if (digits.startsWith('+46')) {
    // Swedish trunk prefix written after the country code (+46 070...) is a common slip; accept it.
    const national = digits.slice(3).replace(/^0/, '');
    if (!/^7[02369][0-9]{7}$/.test(national)) {
      return { ok: false, message: 'must be a Swedish mobile number (07x followed by 7 digits) to receive SMS' };
    }
    return { ok: true, value: `+46${national}` };
  }
  if (!/^\+[1-9][0-9]{7,14}$/.test(digits)) {
    return { ok: false, message: 'must be an international number in E.164 form: + and 8 to 15 digits' };
  }
  return { ok: true, value: digits };
}

// Deliberately plain (what a mail server will accept in practice), not the full RFC 5322 grammar:
// dot-atom local part, a domain with at least one dot and a letter-only top-level label.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

/** An e-mail address, trimmed, with its domain in lower case. */
export function normaliseEmailAddress(raw: string): Normalised {
  const trimmed = raw.trim();
  const at = trimmed.lastIndexOf('@');
  const invalid: Normalised = { ok: false, message: 'must be an e-mail address such as namn@example.se' };
  if (trimmed.length > 254 || at <= 0) return invalid;
  const local = trimmed.slice(0, at);
  const domain = trimmed.slice(at + 1).toLowerCase();
  if (local.length > 64 || !LOCAL_PART.test(local) || !DOMAIN.test(domain)) return invalid;
  return { ok: true, value: `${local}@${domain}` };
}

/** `GET/PUT /citizen/settings`, to be mounted under `/api`; a citizen only ever reads and writes their own. */
export function citizenSettingsRouter(deps: {
  database: SettingsDatabase;
  authenticator: Authenticator;
  log: Logger;
}): Router {
  const router = express.Router();
  const json = express.json({ limit: '4kb', strict: false });
  router.get('/citizen/settings', deps.authenticator.requireCitizen, async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json(await readCitizenSettings(deps.database, citizenOf(res).personalNumber));
  });
  router.put('/citizen/settings', deps.authenticator.requireCitizen, json, async (req, res) => {
    const saved = await saveCitizenSettings(deps.database, citizenOf(res).personalNumber, req.body);
    deps.log.info({ sms: saved.sms.enabled, email: saved.email.enabled }, 'citizen channel settings saved');
    res.set('Cache-Control', 'no-store');
    res.json(saved);
  });
  // Only errors of these routes: other /api routers come after this one.
  router.use('/citizen/settings', jsonErrorHandler(deps.log));
  return router;
}
