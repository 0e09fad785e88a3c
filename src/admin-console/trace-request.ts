// The rules of a trace by personal identity number: the number (12 digits, as the citizen's token's
// `sub`) and a reason of some substance, both checked before anything is read.
export const TRACE_AUDIT = { action: 'trace.by_person', entity: 'citizen' } as const;
export const MIN_REASON_LENGTH = 10;
export const MAX_REASON_LENGTH = 500;

export type TraceByPerson =
  { ok: true; personalIdentityNumber: string; reason: string } | { ok: false; message: string; swedish: string };

export function checkTraceByPerson(input: unknown): TraceByPerson {
  const body = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const raw = typeof body.personalIdentityNumber === 'string' ? body.personalIdentityNumber.trim().slice(0, 20) : '';
  // Written with or without the hyphen (19121212-1212); stored and matched as 12 digits.
  const number = raw.replace(/^(\d{8})[-+]?(\d{4})$/, '$1$2');
  if (!/^\d{12}$/.test(number)) {
    return {
      ok: false,
      message: 'personalIdentityNumber must be 12 digits (YYYYMMDDNNNN)',
      swedish: 'Personnumret ska ha 12 siffror (ÅÅÅÅMMDD-NNNN).',
    };
  }
  const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
  if (reason.length < MIN_REASON_LENGTH || reason.length > MAX_REASON_LENGTH || /[\u0000-\u001f\u007f]/.test(reason)) {
    return {
      ok: false,
      message:
        `reason is required: why the look-up is needed (${MIN_REASON_LENGTH} to ` +
        `${MAX_REASON_LENGTH} characters, e.g. the support case)`,
      swedish:
        `Ange skälet till sökningen (${MIN_REASON_LENGTH}–${MAX_REASON_LENGTH} tecken), till ` +
        `exempel ärendenumret.`,
    };
  }
  return { ok: true, personalIdentityNumber: number, reason };
}
