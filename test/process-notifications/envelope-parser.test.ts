// The envelope reader on its own: what it reads, and which whole-call problems it refuses (table-driven).
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  EnvelopeError,
  MAX_DEPTH,
  parseProcessNotificationEnvelope,
} from '../../src/process-notifications/envelope-parser.js';
import { leastCpuMs } from '../helpers/cost.js';
import { engagement, notificationEnvelope, transactionXml } from '../helpers/soap.js';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';

function refusal(xml: string): EnvelopeError {
  try {
    parseProcessNotificationEnvelope(xml);
  } catch (error) {
    if (error instanceof EnvelopeError) return error;
    throw error;
  }
  throw new Error('the envelope was not refused');
}

describe('parseProcessNotificationEnvelope', () => {
  it('When a call uses default namespaces, CDATA and extension elements, then the values are read and the extensions passed over', () => {
    const xml = fs.readFileSync(new URL('../fixtures/process-notification-mixed.xml', import.meta.url), 'utf8');
    const parsed = parseProcessNotificationEnvelope(xml);
    expect(parsed.logicalAddress).toBe('SE-TEST-INBOX');
    expect(parsed.transactions).toHaveLength(2);
    expect(parsed.transactions[0]).toEqual({
      position: 1,
      deleteFlag: 'true',
      hasEngagement: true,
      fields: {
        registeredResidentIdentification: '191212121212',
        serviceDomain: 'riv:crm:scheduling',
        categorization: 'Invitation',
        logicalAddress: 'SE1623210002-VC7',
        businessObjectInstanceIdentifier: 'KAL-77',
        clinicalProcessInterestId: 'NA',
        sourceSystem: 'SE1623210002-COSMIC',
        dataController: '162321000255',
      },
      problems: [],
    });
    expect(parsed.transactions[1]!.position).toBe(2);
  });

  it('When values carry surrounding layout white space and escaped characters, then they are trimmed and unescaped', () => {
    const xml = notificationEnvelope([
      transactionXml(engagement({ owner: 'A & B <care>' })).replace(
        '<ei:categorization>Booking<',
        '<ei:categorization>\n   Booking  \n<',
      ),
    ]);
    const [transaction] = parseProcessNotificationEnvelope(xml).transactions;
    expect(transaction!.fields.categorization).toBe('Booking');
    expect(transaction!.fields.owner).toBe('A & B <care>');
  });

  // Problems inside one transaction are kept on that transaction; the call itself is read.
  const transactionProblems: [string, string, string][] = [
    ['an unknown element of the EI namespace', '<ei:colour>red</ei:colour>', 'unexpected element colour in engagement'],
    ['a repeated field', '<ei:owner>A</ei:owner><ei:owner>B</ei:owner>', 'owner is given more than once'],
    ['markup inside a value', '<ei:owner><b>A</b></ei:owner>', 'owner must hold text only'],
    ['an element without namespace', '<owner>A</owner>', 'unexpected element owner in engagement'],
  ];
  it.each(transactionProblems)(
    'When a transaction has %s, then that transaction carries the problem',
    (_name, extra, problem) => {
      const xml = notificationEnvelope([
        engagement(),
        transactionXml(engagement()).replace('</ei:engagement>', `${extra}</ei:engagement>`),
      ]);
      const { transactions } = parseProcessNotificationEnvelope(xml);
      expect(transactions[0]!.problems).toEqual([]);
      expect(transactions[1]!.problems).toEqual([problem]);
    },
  );

  const good = notificationEnvelope([engagement()]);
  const deep = (levels: number) =>
    good.replace(
      '</soapenv:Header>',
      `${'<x:a xmlns:x="urn:example:ext">'.repeat(levels)}${'</x:a>'.repeat(levels)}</soapenv:Header>`,
    );
  // Header is at depth 2, so `MAX_DEPTH - 2` nested elements reach exactly the limit.
  it('When extension elements nest up to the depth limit, then the call is read', () => {
    expect(parseProcessNotificationEnvelope(deep(MAX_DEPTH - 2)).transactions).toHaveLength(1);
  });

  const refused: [string, string, RegExp, ('Client' | 'VersionMismatch')?][] = [
    ['not XML', 'hello', /Not well-formed XML/],
    ['an empty document', '', /Not well-formed XML/],
    ['a DTD', `<!DOCTYPE x>${good.replace(/^<\?xml[^>]*>/, '')}`, /document type declaration/],
    ['an undeclared entity', good.replace('>SE-TEST-INBOX<', '>&xxe;<'), /Not well-formed XML/],
    ['a processing instruction', good.replace('<soapenv:Body>', '<soapenv:Body><?pi x?>'), /processing instruction/],
    ['a non-UTF-8 declaration', good.replace('UTF-8', 'windows-1252'), /Only UTF-8/],
    [
      'a SOAP 1.2 envelope',
      good.replace(SOAP11, 'http://www.w3.org/2003/05/soap-envelope'),
      /SOAP 1.2/,
      'VersionMismatch',
    ],
    ['another envelope namespace', good.replace(SOAP11, 'urn:other'), /Not a SOAP 1.1 envelope/],
    [
      'another operation',
      good.replaceAll('pn:ProcessNotification>', 'pn:Update>'),
      /Not a ProcessNotification request/,
    ],
    [
      'two operations in the body',
      good.replace('</soapenv:Body>', '<pn:ProcessNotification/></soapenv:Body>'),
      /exactly one/,
    ],
    ['no Body', good.replace(/<soapenv:Body>.*<\/soapenv:Body>/, ''), /no Body/],
    ['an empty Body', good.replace(/<soapenv:Body>.*<\/soapenv:Body>/, '<soapenv:Body/>'), /body is empty/],
    ['no transaction', notificationEnvelope([]), /no engagementTransaction/],
    [
      'a Header after the Body',
      good.replace('</soapenv:Envelope>', '<soapenv:Header/></soapenv:Envelope>'),
      /Unexpected element Header/,
    ],
    [
      'a repeated LogicalAddress',
      good.replace('</soapenv:Header>', '<itr:LogicalAddress>X</itr:LogicalAddress></soapenv:Header>'),
      /more than once/,
    ],
    ['markup in LogicalAddress', good.replace('>SE-TEST-INBOX<', '><b>SE</b><'), /text only/],
    [
      'an unknown element in ProcessNotification',
      good.replace('<pn:ProcessNotification>', '<pn:ProcessNotification><pn:extra/>'),
      /Unexpected element extra/,
    ],
    ['unclosed tags', good.slice(0, good.indexOf('</soapenv:Body>')), /Not well-formed XML/],
    ['nesting one level over the limit', deep(MAX_DEPTH - 1), /nested deeper than 64/],
    ['100,000 nested elements', deep(100_000), /nested deeper than 64/],
  ];
  it.each(refused)('When the call has %s, then it is refused whole', (_name, xml, message, faultcode = 'Client') => {
    const error = refusal(xml);
    expect(error.message).toMatch(message);
    expect(error.faultcode).toBe(faultcode);
  });

  it('When elements are nested 100,000 deep, then the refusal comes at once rather than after a quadratic walk', () => {
    // Measured against a baseline in this test, in CPU time: a call 100 times as deep may cost at most
    // 40 times as much to refuse. A quadratic walk would cost 10,000 times as much, and even reading
    // every level once 100 times; the refusal at level 64 costs about 6 times as much (measured).
    const small = deep(1_000);
    const large = deep(100_000);
    const baseline = leastCpuMs(() => refusal(small));
    const cost = leastCpuMs(() => refusal(large));
    // A ratio of CPU time to a baseline measured in the same run, not a wall-clock limit.
    const said = `1,000 levels: ${baseline.toFixed(3)} ms; 100,000 levels: ${cost.toFixed(3)} ms of CPU time`;
    expect(cost, said).toBeLessThan(40 * Math.max(baseline, 0.05));
  });
});
