// A strict, streaming reader of ProcessNotification SOAP 1.1 envelopes, built on saxes.
//
// Why not the soap package's own parser: it is sax-js, which accepts a DOCTYPE, knows no namespaces
// (a ProcessNotification in any namespace would do) and needs ~70 ms for a 1000-transaction call, where
// saxes needs ~7 ms. The soap server calls `wsdl.xmlToObject`; soap-endpoint.ts plugs this in there.
//
// Whole-call problems (not XML, a DTD, wrong envelope or namespace, not a ProcessNotification) throw
// EnvelopeError. Problems inside one engagementTransaction are collected on that transaction, so that
// it alone is rejected and the others are kept.
import {
  SaxesParser,
  type AttributeHandler,
  type CDataHandler,
  type CloseTagHandler,
  type DoctypeHandler,
  type OpenTagHandler,
  type PIHandler,
  type SaxesOptions,
  type TextHandler,
  type XMLDeclHandler,
} from 'saxes';

export const NS = {
  soap11: 'http://schemas.xmlsoap.org/soap/envelope/',
  soap12: 'http://www.w3.org/2003/05/soap-envelope',
  registry: 'urn:riv:itintegration:registry:1',
  responder: 'urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1',
  engagementIndex: 'urn:riv:itintegration:engagementindex:1',
} as const;

export const ENGAGEMENT_FIELDS = [
  'registeredResidentIdentification',
  'serviceDomain',
  'categorization',
  'logicalAddress',
  'businessObjectInstanceIdentifier',
  'clinicalProcessInterestId',
  'mostRecentContent',
  'sourceSystem',
  'creationTime',
  'updateTime',
  'dataController',
  'owner',
] as const;
export type EngagementField = (typeof ENGAGEMENT_FIELDS)[number];
const ENGAGEMENT_FIELD_SET: ReadonlySet<string> = new Set(ENGAGEMENT_FIELDS);

/**
 * How deep elements may nest. A ProcessNotification needs 6 levels (Envelope, Body, ProcessNotification,
 * engagementTransaction, engagement, field); the rest is room for extension elements. saxes resolves each
 * element's namespace prefix by walking every open element, so without a limit 100,000 nested elements
 * cost minutes of CPU (quadratic). The check runs on each opened element, so depth never passes 65.
 */
export const MAX_DEPTH = 64;

/**
 * Bounds on markup, so that a crafted body under 15 MB cannot cost seconds: a 15 MB call of 16,000
 * transactions has about 520,000 elements, a few namespace declarations and hardly any entity references,
 * while 3.5 million empty elements, 500,000 attributes or 3 million entity references would take 0.4-1.6 s.
 */
export const MAX_ELEMENTS = 1_000_000;
export const MAX_ATTRIBUTES_PER_ELEMENT = 64;
export const MAX_ATTRIBUTES = 400_000;
export const MAX_ENTITY_REFERENCES = 200_000;

type Options = SaxesOptions & { xmlns: true; position: false };

/** The handlers this reader uses, under saxes' own field names for them. */
interface Handlers {
  xmldeclHandler: XMLDeclHandler;
  doctypeHandler: DoctypeHandler;
  piHandler: PIHandler;
  openTagHandler: OpenTagHandler<Options>;
  textHandler: TextHandler;
  cdataHandler: CDataHandler;
  closeTagHandler: CloseTagHandler<Options>;
  attributeHandler: AttributeHandler<Options>;
}

// saxes' on() stores each handler under a computed key. V8 turns an object that gains more than a dozen
// properties through computed keys into a slow dictionary, and every field access in saxes' hot loop
// then costs ~5x: 50 ms instead of 9 ms for a 1000-transaction call. Assigning the same fields by name
// keeps the parser fast. Those names are saxes internals, so they are checked once here; should a
// saxes release rename them, on() is used (correct, only slower).
const NAMED_FIELDS_MATCH = (() => {
  const probe = new SaxesParser<Options>({ xmlns: true, position: false });
  const marker = () => {};
  const events = [
    'xmldecl',
    'doctype',
    'processinginstruction',
    'opentag',
    'text',
    'cdata',
    'closetag',
    'attribute',
  ] as const;
  const fields = [
    'xmldeclHandler',
    'doctypeHandler',
    'piHandler',
    'openTagHandler',
    'textHandler',
    'cdataHandler',
    'closeTagHandler',
    'attributeHandler',
  ];
  return events.every((event, i) => {
    probe.on(event, marker);
    return (probe as unknown as Record<string, unknown>)[fields[i]!] === marker;
  });
})();

function attach(parser: SaxesParser<Options>, handlers: Handlers): void {
  if (NAMED_FIELDS_MATCH) {
    const fields = parser as unknown as Handlers;
    fields.xmldeclHandler = handlers.xmldeclHandler;
    fields.doctypeHandler = handlers.doctypeHandler;
    fields.piHandler = handlers.piHandler;
    fields.openTagHandler = handlers.openTagHandler;
    fields.textHandler = handlers.textHandler;
    fields.cdataHandler = handlers.cdataHandler;
    fields.closeTagHandler = handlers.closeTagHandler;
    fields.attributeHandler = handlers.attributeHandler;
    return;
  }
  parser.on('xmldecl', handlers.xmldeclHandler);
  parser.on('doctype', handlers.doctypeHandler);
  parser.on('processinginstruction', handlers.piHandler);
  parser.on('opentag', handlers.openTagHandler);
  parser.on('text', handlers.textHandler);
  parser.on('cdata', handlers.cdataHandler);
  parser.on('closetag', handlers.closeTagHandler);
  parser.on('attribute', handlers.attributeHandler);
}

/** How often `character` occurs in `text` (indexOf runs natively: ~10 ms for 15 MB). */
function occurrences(text: string, character: string, stopAbove: number): number {
  let count = 0;
  for (let at = text.indexOf(character); at !== -1 && count <= stopAbove; at = text.indexOf(character, at + 1)) count++;
  return count;
}

/** One engagementTransaction as read, before EI's field rules are applied. */
export interface RawTransaction {
  /** 1-based position in the call. */
  position: number;
  deleteFlag: string | undefined;
  hasEngagement: boolean;
  fields: Partial<Record<EngagementField, string>>;
  /** Structural problems found while reading (unknown or repeated elements, markup inside a value). */
  problems: string[];
}

export interface ParsedNotification {
  logicalAddress: string | undefined;
  transactions: RawTransaction[];
}

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
  constructor(
    message: string,
    /** SOAP 1.1 fault code: VersionMismatch for a SOAP 1.2 envelope, Client otherwise. */
    readonly faultcode: 'Client' | 'VersionMismatch' = 'Client',
  ) {
    super(message);
  }
}

// Where the reader stands; each level knows which children it accepts.
type Level =
  | 'document'
  | 'envelope'
  | 'header'
  | 'logicalAddress'
  | 'body'
  | 'processNotification'
  | 'transaction'
  | 'deleteFlag'
  | 'engagement'
  | 'field'
  | 'skip';

export function parseProcessNotificationEnvelope(xml: string): ParsedNotification {
  // Without an error handler saxes throws its errors; the catch below turns them into EnvelopeError.
  const parser = new SaxesParser<Options>({ xmlns: true, position: false });
  const stack: Level[] = ['document'];
  const result: ParsedNotification = { logicalAddress: undefined, transactions: [] };
  let current: RawTransaction | undefined;
  let field: EngagementField | undefined;
  let text = '';
  let bodyChildren = 0;
  let sawBody = false;
  let skipDepth = 0;
  let depth = 0;
  let elements = 0;
  let attributesOfElement = 0;

  const fail = (message: string, faultcode?: 'Client' | 'VersionMismatch'): never => {
    throw new EnvelopeError(message, faultcode);
  };

  const xmldeclHandler: XMLDeclHandler = (decl) => {
    if (decl.encoding && decl.encoding.toUpperCase() !== 'UTF-8') {
      fail(`Only UTF-8 is accepted, the document declares ${decl.encoding}`);
    }
  };
  // No DTD is ever read, so no entity can be declared, expanded or fetched.
  const doctypeHandler: DoctypeHandler = () => fail('A document type declaration (DTD) is not allowed');
  // SOAP 1.1 §3: a SOAP message must not contain processing instructions (the XML declaration is not one).
  const piHandler: PIHandler = () => fail('A processing instruction is not allowed in a SOAP message');

  const attributeHandler: AttributeHandler<Options> = () => {
    attributesOfElement++;
    if (attributesOfElement > MAX_ATTRIBUTES_PER_ELEMENT)
      fail(`An element has more than ${MAX_ATTRIBUTES_PER_ELEMENT} attributes`);
  };

  const openTagHandler: OpenTagHandler<Options> = (node) => {
    depth++;
    if (depth > MAX_DEPTH) fail(`Elements are nested deeper than ${MAX_DEPTH} levels`);
    attributesOfElement = 0;
    elements++;
    if (elements > MAX_ELEMENTS) fail(`The message has more than ${MAX_ELEMENTS} elements`);
    const level = stack[stack.length - 1];
    if (level === 'skip') {
      skipDepth++;
      return;
    }
    const { uri, local } = node;
    switch (level) {
      case 'document':
        if (uri === NS.soap12 && local === 'Envelope')
          fail('SOAP 1.2 is not supported; send SOAP 1.1', 'VersionMismatch');
        if (uri !== NS.soap11 || local !== 'Envelope') fail('Not a SOAP 1.1 envelope');
        stack.push('envelope');
        return;
      case 'envelope':
        if (uri === NS.soap11 && local === 'Header' && !sawBody) return void stack.push('header');
        if (uri === NS.soap11 && local === 'Body' && !sawBody) {
          sawBody = true;
          return void stack.push('body');
        }
        return fail(`Unexpected element ${local} in the SOAP envelope`);
      case 'header':
        if (uri === NS.registry && local === 'LogicalAddress') {
          if (result.logicalAddress !== undefined) fail('LogicalAddress is given more than once');
          text = '';
          return void stack.push('logicalAddress');
        }
        return startSkip();
      case 'body':
        bodyChildren++;
        if (bodyChildren > 1) fail('The SOAP body must hold exactly one ProcessNotification');
        if (local !== 'ProcessNotification' || uri !== NS.responder) {
          fail(`Not a ProcessNotification request (got ${local} in namespace "${uri}")`);
        }
        return void stack.push('processNotification');
      case 'processNotification':
        if (uri === NS.responder && local === 'engagementTransaction') {
          current = {
            position: result.transactions.length + 1,
            deleteFlag: undefined,
            hasEngagement: false,
            fields: {},
            problems: [],
          };
          result.transactions.push(current);
          return void stack.push('transaction');
        }
        if (isExtension(uri)) return startSkip();
        return fail(`Unexpected element ${local} in ProcessNotification`);
      case 'transaction':
        if (uri === NS.engagementIndex && local === 'deleteFlag') {
          if (current!.deleteFlag !== undefined) current!.problems.push('deleteFlag is given more than once');
          text = '';
          return void stack.push('deleteFlag');
        }
        if (uri === NS.engagementIndex && local === 'engagement') {
          if (current!.hasEngagement) current!.problems.push('engagement is given more than once');
          current!.hasEngagement = true;
          return void stack.push('engagement');
        }
        if (!isExtension(uri)) current!.problems.push(`unexpected element ${local}`);
        return startSkip();
      case 'engagement':
        if (uri === NS.engagementIndex && ENGAGEMENT_FIELD_SET.has(local)) {
          field = local as EngagementField;
          if (current!.fields[field] !== undefined) current!.problems.push(`${field} is given more than once`);
          text = '';
          return void stack.push('field');
        }
        if (!isExtension(uri)) current!.problems.push(`unexpected element ${local} in engagement`);
        return startSkip();
      case 'logicalAddress':
        return fail('LogicalAddress must hold text only');
      case 'deleteFlag':
      case 'field':
        current!.problems.push(`${level === 'field' ? field : 'deleteFlag'} must hold text only`);
        return startSkip();
      default:
        return fail('Unexpected element');
    }
  };

  function startSkip(): void {
    skipDepth = 1;
    stack.push('skip');
  }

  const textHandler: TextHandler = (value) => {
    const level = stack[stack.length - 1];
    if (level === 'field' || level === 'deleteFlag' || level === 'logicalAddress') text += value;
  };

  const closeTagHandler: CloseTagHandler<Options> = () => {
    depth--;
    const level = stack[stack.length - 1];
    if (level === 'skip') {
      skipDepth--;
      if (skipDepth === 0) stack.pop();
      return;
    }
    stack.pop();
    switch (level) {
      case 'logicalAddress':
        result.logicalAddress = text.trim();
        break;
      case 'deleteFlag':
        current!.deleteFlag = text.trim();
        break;
      case 'field':
        // xs:string values keep inner spaces; surrounding white space is layout, not data.
        current!.fields[field!] = text.trim();
        field = undefined;
        break;
      case 'transaction':
        current = undefined;
        break;
    }
  };

  attach(parser, {
    xmldeclHandler,
    doctypeHandler,
    piHandler,
    openTagHandler,
    textHandler,
    cdataHandler: textHandler,
    closeTagHandler,
    attributeHandler,
  });

  if (occurrences(xml, '&', MAX_ENTITY_REFERENCES) > MAX_ENTITY_REFERENCES) {
    fail(`The message has more than ${MAX_ENTITY_REFERENCES} entity or character references`);
  }
  if (occurrences(xml, '=', MAX_ATTRIBUTES) > MAX_ATTRIBUTES)
    fail(`The message has more than ${MAX_ATTRIBUTES} attributes`);
  try {
    parser.write(xml).close();
  } catch (error) {
    if (error instanceof EnvelopeError) throw error;
    throw new EnvelopeError(`Not well-formed XML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!sawBody) fail('The SOAP envelope has no Body');
  if (bodyChildren === 0) fail('The SOAP body is empty: not a ProcessNotification request');
  if (result.transactions.length === 0) fail('ProcessNotification holds no engagementTransaction');
  return result;
}

/** Elements of other namespaces are allowed by the schema's xs:any ##other and are passed over. */
function isExtension(uri: string): boolean {
  return uri !== '' && uri !== NS.engagementIndex && uri !== NS.responder && uri !== NS.soap11;
}
