// The registry's field rules, as pure functions shared by the API, the CLI and the /admin page.
import { ENVIRONMENTS, SOURCE_SYSTEM_MODES, type Environment, type SourceSystemMode } from './schema.js';

/** `"qa" or "prod"`, for messages. */
export const ENVIRONMENT_CHOICES = ENVIRONMENTS.map((environment) => `"${environment}"`).join(' or ');
export const isEnvironment = (value: unknown): value is Environment =>
  (ENVIRONMENTS as readonly unknown[]).includes(value);
export const MODES: readonly SourceSystemMode[] = SOURCE_SYSTEM_MODES;
export const isSourceSystemMode = (value: unknown): value is SourceSystemMode =>
  (MODES as readonly unknown[]).includes(value);
/** The mode of a registration that names none (the API, the CLI, the /admin form's first choice). */
export const DEFAULT_MODE: SourceSystemMode = 'active';
/** EI's limit on sourceSystem. */
export const MAX_HSA_ID_LENGTH = 64;
/**
 * An HSA-id as HSA hands them out: the country code SE, the organisation number of the organisation that
 * issued it (10 digits, or 12 with the century prefix "16" that some issuers write), a hyphen, and a local
 * part of letters A-Z and digits (e.g. SE2321000016-92V4, SE162321000024-0001). Compared upper-case: HSA-ids
 * are not case-sensitive, so "se2321000032-pas1" is the same system as "SE2321000032-PAS1". Whether the
 * organisation exists is HSA's business, not a syntax check (test systems use made-up numbers); a
 * registration with a typo shows up at once under "Oregistrerade system" with what the system really sends.
 * Linear: one pass, no nested quantifiers; the input is cut to MAX_HSA_ID_LENGTH first.
 */
export const HSA_ID_PATTERN = /^SE(?:16)?[0-9]{10}-[A-Z0-9]+$/;
export const HSA_ID_EXAMPLE = 'SE2321000016-92V4';

/** The stored form of an HSA-id (upper-case); undefined when it is not one. */
export function normaliseHsaId(value: string): string | undefined {
  if (value.length > MAX_HSA_ID_LENGTH) return undefined;
  const upper = value.toUpperCase();
  return HSA_ID_PATTERN.test(upper) ? upper : undefined;
}
export const MAX_NAME_LENGTH = 200;

export type ProblemRule =
  | 'not_an_object'
  | 'required'
  | 'not_allowed_value'
  | 'surrounding_white_space'
  | 'too_long'
  | 'control_characters'
  | 'not_an_hsa_id'
  | 'unknown_field'
  | 'nothing_to_change';

export interface FieldProblem {
  /** The field in the API's terms ("" for the request as a whole). */
  field: string;
  rule: ProblemRule;
  message: string;
}

export interface Registration {
  environment: Environment;
  hsaId: string;
  name: string;
  mode: SourceSystemMode;
}

export interface Change {
  name?: string;
  mode?: SourceSystemMode;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] };

type Input = Record<string, unknown>;

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function isObject(input: unknown): input is Input {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

export function checkEnvironment(value: unknown, problems: FieldProblem[]): Environment | undefined {
  if (value === undefined || value === null || value === '') {
    problems.push({
      rule: 'required',
      field: 'environment',
      message: `environment is required: ${ENVIRONMENT_CHOICES}`,
    });
  } else if (!isEnvironment(value)) {
    problems.push({
      rule: 'not_allowed_value',
      field: 'environment',
      message: `environment must be ${ENVIRONMENT_CHOICES}, got ${show(value)}`,
    });
  } else {
    return value;
  }
  return undefined;
}

/**
 * The limits every stored text keeps: at most `max` characters, no control characters. Tells the first
 * one broken as a problem of `field`; false when the text keeps them.
 */
export function beyondLimits(field: string, text: string, max: number, problems: FieldProblem[]): boolean {
  if (text.length > max) {
    problems.push({
      rule: 'too_long',
      field,
      message: `${field} must be at most ${max} characters, got ${text.length}`,
    });
  } else if (CONTROL_CHARACTERS.test(text)) {
    problems.push({ rule: 'control_characters', field, message: `${field} must not contain control characters` });
  } else {
    return false;
  }
  return true;
}

function checkHsaId(value: unknown, problems: FieldProblem[]): string | undefined {
  if (typeof value !== 'string' || value === '') {
    problems.push({
      rule: 'required',
      field: 'hsaId',
      message: 'hsaId is required: the HSA-id the system sends as sourceSystem',
    });
  } else if (value !== value.trim()) {
    // What EI forwards is compared exactly; a stray blank would make the registration never match.
    problems.push({
      rule: 'surrounding_white_space',
      field: 'hsaId',
      message: 'hsaId must not start or end with white space',
    });
  } else if (beyondLimits('hsaId', value, MAX_HSA_ID_LENGTH, problems)) {
    return undefined;
  } else if (normaliseHsaId(value) === undefined) {
    problems.push({
      rule: 'not_an_hsa_id',
      field: 'hsaId',
      message:
        `hsaId must be an HSA-id: SE, the 10-digit organisation number (optionally prefixed 16), ` +
        `"-", and letters A-Z or digits, e.g. ${HSA_ID_EXAMPLE}`,
    });
  } else {
    return normaliseHsaId(value);
  }
  return undefined;
}

function checkName(value: unknown, problems: FieldProblem[]): string | undefined {
  // Surrounding white space in a display name is layout, so it is trimmed rather than refused.
  const name = typeof value === 'string' ? value.trim() : undefined;
  if (name === undefined || name === '') {
    problems.push({ rule: 'required', field: 'name', message: "name is required: the booking system's name" });
  } else if (!beyondLimits('name', name, MAX_NAME_LENGTH, problems)) {
    return name;
  }
  return undefined;
}

function checkMode(value: unknown, problems: FieldProblem[]): SourceSystemMode | undefined {
  if (!isSourceSystemMode(value)) {
    problems.push({
      rule: 'not_allowed_value',
      field: 'mode',
      message: `mode must be ${MODES.map((mode) => `"${mode}"`).join(' or ')}, got ${show(value)}`,
    });
    return undefined;
  }
  return value;
}

function unknownFields(input: Input, allowed: string[], problems: FieldProblem[], hint: string): void {
  for (const field of Object.keys(input)) {
    if (!allowed.includes(field))
      problems.push({ rule: 'unknown_field', field, message: `${field} is not a field here${hint}` });
  }
}

/** A new registration: environment, hsaId, name, and mode (default "active"). */
export function checkRegistration(input: unknown): Checked<Registration> {
  if (!isObject(input)) {
    return {
      ok: false,
      problems: [
        { rule: 'not_an_object', field: '', message: 'expected a JSON object with environment, hsaId, name and mode' },
      ],
    };
  }
  const problems: FieldProblem[] = [];
  unknownFields(
    input,
    ['environment', 'hsaId', 'name', 'mode'],
    problems,
    ' (allowed: environment, hsaId, name, mode)',
  );
  const environment = checkEnvironment(input.environment, problems);
  const hsaId = checkHsaId(input.hsaId, problems);
  const name = checkName(input.name, problems);
  const mode = input.mode === undefined ? DEFAULT_MODE : checkMode(input.mode, problems);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { environment: environment!, hsaId: hsaId!, name: name!, mode: mode! } };
}

/** A change of a live registration: name and/or mode. Environment and HSA-id are what identify it. */
export function checkChange(input: unknown): Checked<Change> {
  if (!isObject(input))
    return {
      ok: false,
      problems: [{ rule: 'not_an_object', field: '', message: 'expected a JSON object with name and/or mode' }],
    };
  const problems: FieldProblem[] = [];
  unknownFields(
    input,
    ['name', 'mode'],
    problems,
    ' (only name and mode can be changed; to move a system, deactivate it and register it again)',
  );
  const change: Change = {};
  if (input.name !== undefined) change.name = checkName(input.name, problems);
  if (input.mode !== undefined) change.mode = checkMode(input.mode, problems);
  if (problems.length === 0 && input.name === undefined && input.mode === undefined) {
    problems.push({ rule: 'nothing_to_change', field: '', message: 'nothing to change: give name and/or mode' });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: change };
}

/** "field: message; ..." for one-line answers. */
export function describeProblems(problems: FieldProblem[]): string {
  return problems.map((problem) => problem.message).join('; ');
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
