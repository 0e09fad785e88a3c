// Every reason the engine gives (decide.ts) has a Swedish wording for the administrators' trace, so a
// new rule cannot reach /admin in English unnoticed; and the retry policy's reasons for giving up too.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { becauseInSwedish } from '../../src/message-engine/trace-words.js';

const source = fs.readFileSync(new URL('../../src/message-engine/decide.ts', import.meta.url), 'utf8');
const fixed = [...source.matchAll(/decision\(\s*'([^']+)'/g)].map((match) => match[1]!);

describe("the engine's reasons in Swedish", () => {
  it('When decide.ts is read, then it gives at least 20 fixed reasons', () => {
    expect(fixed.length).toBeGreaterThanOrEqual(20);
  });

  it.each(fixed)('When the reason is "%s", then it has a Swedish wording', (because) => {
    const swedish = becauseInSwedish(because);
    expect(swedish).not.toBe(because);
    expect(swedish).toMatch(/\.$/);
  });

  it.each([
    ['delivered in silent mode: state only', 'Levererad i läget tyst: bara lagrad, inget meddelande.'],
    [
      'booking delete held for the rebooking window',
      'Borttag av bokning: väntar ombokningsfönstret ut innan det blir en avbokning.',
    ],
    ['invitation delete held for the rebooking window', 'Borttag av kallelse: väntar ombokningsfönstret ut.'],
    [
      'still failing after the retry period (12 h): GetBookingDetails timed out',
      'Gav upp efter försöksperioden: bokningssystemet svarade inte (GetBookingDetails timed out).',
    ],
    [
      'malformed GetBookingDetails answer: not a SOAP envelope',
      'Gav upp: bokningssystemets svar gick inte att tolka (not a SOAP envelope).',
    ],
  ])('When the reason is built from values ("%s"), then it reads "%s"', (because, swedish) => {
    expect(becauseInSwedish(because)).toBe(swedish);
  });

  it('When a reason is unknown, then it is shown as it is', () => {
    expect(becauseInSwedish('something new')).toBe('something new');
  });
});
