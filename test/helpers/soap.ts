// Builds ProcessNotification envelopes and reads SOAP answers, for tests and benchmarks.
import { SaxesParser } from 'saxes';

export interface EngagementInput {
  deleteFlag?: boolean | string;
  registeredResidentIdentification?: string;
  serviceDomain?: string;
  categorization?: string;
  logicalAddress?: string;
  businessObjectInstanceIdentifier?: string;
  clinicalProcessInterestId?: string;
  mostRecentContent?: string;
  sourceSystem?: string;
  creationTime?: string;
  updateTime?: string;
  dataController?: string;
  owner?: string;
}

export const TEST_SOURCE_SYSTEM = 'SE1623210002-COSMIC';

export function engagement(overrides: EngagementInput = {}): EngagementInput {
  return {
    deleteFlag: false,
    registeredResidentIdentification: '191212121212',
    serviceDomain: 'riv:crm:scheduling',
    categorization: 'Booking',
    logicalAddress: 'SE1623210002-VC7',
    businessObjectInstanceIdentifier: 'BOK-1',
    clinicalProcessInterestId: 'NA',
    mostRecentContent: '20261122093000',
    sourceSystem: TEST_SOURCE_SYSTEM,
    dataController: '162321000255',
    ...overrides,
  };
}

const ORDER: (keyof EngagementInput)[] = [
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
];

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function transactionXml(input: EngagementInput): string {
  const fields = ORDER.filter((name) => input[name] !== undefined)
    .map((name) => `<ei:${name}>${escapeXml(String(input[name]))}</ei:${name}>`)
    .join('');
  const flag = input.deleteFlag === undefined ? '' : `<ei:deleteFlag>${String(input.deleteFlag)}</ei:deleteFlag>`;
  return `<pn:engagementTransaction>${flag}<ei:engagement>${fields}</ei:engagement></pn:engagementTransaction>`;
}

export function notificationEnvelope(
  transactions: (EngagementInput | string)[],
  /** null: no header at all. */
  logicalAddress: string | null = 'SE-TEST-INBOX',
): string {
  const header =
    logicalAddress === null
      ? ''
      : `<soapenv:Header><itr:LogicalAddress>${logicalAddress}</itr:LogicalAddress></soapenv:Header>`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:itr="urn:riv:itintegration:registry:1" ' +
    'xmlns:pn="urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1" xmlns:ei="urn:riv:itintegration:engagementindex:1">' +
    `${header}<soapenv:Body><pn:ProcessNotification>` +
    transactions.map((t) => (typeof t === 'string' ? t : transactionXml(t))).join('') +
    '</pn:ProcessNotification></soapenv:Body></soapenv:Envelope>'
  );
}

export interface SoapAnswer {
  status: number;
  contentType: string | null;
  text: string;
  resultCode?: string;
  comment?: string;
  faultcode?: string;
  faultstring?: string;
  envelopeNamespace?: string;
}

/** Reads a SOAP answer: the ResultCode and comment, or the SOAP 1.1 fault's code and string. */
export function readAnswer(status: number, contentType: string | null, text: string): SoapAnswer {
  const answer: SoapAnswer = { status, contentType, text };
  const parser = new SaxesParser({ xmlns: true });
  let current = '';
  let value = '';
  parser.on('opentag', (tag) => {
    if (tag.local === 'Envelope') answer.envelopeNamespace = tag.uri;
    current = tag.local;
    value = '';
  });
  parser.on('text', (t) => (value += t));
  parser.on('closetag', (tag) => {
    if (tag.local === current) {
      if (current === 'ResultCode') answer.resultCode = value;
      if (current === 'comment') answer.comment = value;
      if (current === 'faultcode') answer.faultcode = value;
      if (current === 'faultstring') answer.faultstring = value;
    }
  });
  try {
    parser.write(text).close();
  } catch {
    // Not XML: the caller's assertions on resultCode/faultcode will say so.
  }
  return answer;
}

export const PROCESS_NOTIFICATION_SOAP_ACTION =
  'urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1:ProcessNotification';

export async function postNotification(
  baseUrl: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<SoapAnswer> {
  const response = await fetch(`${baseUrl}/ProcessNotification/1/rivtabp21`, {
    method: 'POST',
    headers: {
      'content-type': 'text/xml; charset=utf-8',
      SOAPAction: `"${PROCESS_NOTIFICATION_SOAP_ACTION}"`,
      ...headers,
    },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return readAnswer(response.status, response.headers.get('content-type'), await response.text());
}
