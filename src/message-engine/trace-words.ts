// The engine's reasons (decide.ts, retry-policy.ts) in Swedish, for the administrators' trace. The engine
// keeps its English words for logs and tests; a reason without a Swedish wording here is shown as it is.
const WORDS: Record<string, string> = {
  'delete of a post not present: nothing to do': 'Borttag av en post som inte finns: inget att göra.',
  'booked time has passed (use case 12): no message': 'Den bokade tiden har redan passerat: inget meddelande.',
  'delete of a booking whose details were never known: no message':
    'Borttag av en bokning vars uppgifter aldrig hämtades: inget meddelande.',
  'subject_of_care differs from the resident: nothing shown, security event':
    'Bokningssystemet svarade med en annan patient än aviseringen gällde: inget visas, säkerhetshändelse registrerad.',
  'producer does not have the booking: no message, state unchanged':
    'Bokningssystemet har inte bokningen (längre): inget meddelande, läget oförändrat.',
  'producer does not have the booking: no message, not present':
    'Bokningssystemet har inte bokningen: inget meddelande.',
  'unchanged post (redelivery or reload): no message':
    'Oförändrad bokning (omleverans eller ny inläsning): inget meddelande.',
  'time has passed: no message': 'Tiden har redan passerat: inget meddelande.',
  'invitation changed (use case 11)': 'Kallelsen har ändrats: meddelande om ändrad kallelse.',
  'booking changed but not its time or place: no message':
    'Bokningen ändrades men inte tid eller plats: inget meddelande.',
  'booking rebooked, same id (use cases 6, 9)': 'Bokningen har flyttats: ombokningsmeddelande.',
  'time has passed: no message (a held delete stays held)':
    'Tiden har redan passerat: inget meddelande (ett väntande borttag står kvar).',
  'deleted and added again unchanged (reload): no message':
    'Borttagen och tillagd igen oförändrad (ny inläsning): inget meddelande.',
  'delete + new booking (use cases 7, 10): one rebooking': 'Borttag följt av ny bokning: ett ombokningsmeddelande.',
  'invitation booked (use case 8): confirmation only': 'Kallelsen har bokats: bara en bokningsbekräftelse.',
  'invitation deleted and added again unchanged (reload): no message':
    'Kallelsen togs bort och lades till igen oförändrad: inget meddelande.',
  'invitation replaced (use case 11)': 'Kallelsen har ersatts: meddelande om ändrad kallelse.',
  'new invitation (use case 1)': 'Ny kallelse: kallelsemeddelande.',
  'new booking (use case 2)': 'Ny bokning: bokningsbekräftelse.',
  'invitation withdrawn or expired (use cases 5, 13): no message':
    'Kallelsen drogs tillbaka eller gick ut: inget meddelande.',
  'booking cancelled (use cases 3, 4)': 'Ombokningsfönstret gick ut utan ny bokning: avbokningsmeddelande.',
  'cancelled time has passed: no message': 'Den avbokade tiden har redan passerat: inget meddelande.',
  'booking delete held for the rebooking window':
    'Borttag av bokning: väntar ombokningsfönstret ut innan det blir en avbokning.',
  'invitation delete held for the rebooking window': 'Borttag av kallelse: väntar ombokningsfönstret ut.',
};

const PREFIXES: [string, string][] = [
  ['still failing after the retry period', 'Gav upp efter försöksperioden: bokningssystemet svarade inte'],
  [
    "still failing when the booking's time had passed",
    'Gav upp när bokningens tid hade passerat: bokningssystemet svarade inte',
  ],
  ['malformed GetBookingDetails answer', 'Gav upp: bokningssystemets svar gick inte att tolka'],
];

/** `because` in Swedish; unknown reasons as they are. */
export function becauseInSwedish(because: string): string {
  const known = WORDS[because];
  if (known) return known;
  const mode = /^delivered in ([a-z]{1,20}) mode: state only$/.exec(because.slice(0, 60));
  if (mode) return `Levererad i läget ${mode[1] === 'silent' ? 'tyst' : mode[1]}: bara lagrad, inget meddelande.`;
  for (const [prefix, words] of PREFIXES)
    if (because.startsWith(prefix))
      return `${words} (${because
        .slice(prefix.length)
        .replace(/^[^:]*:\s*/, '')
        .slice(0, 200)}).`;
  return because;
}
