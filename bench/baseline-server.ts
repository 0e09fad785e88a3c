// The baseline of bench:ingest: the least a server can do with the same calls. Plain node:http, the
// body read whole and parsed by the same XML parser as the service (saxes, namespace-aware), every
// engagementTransaction bulk-inserted with one multi-row INSERT into a copy of the queue table.
// No SOAP framework, no validation, no redelivery check, no call record.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import { SaxesParser } from 'saxes';

export const BASELINE_TABLE = 'baseline_notification';

const ANSWER = (count: number) =>
  '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
  '<pn:ProcessNotificationResponse xmlns:pn="urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1">' +
  `<pn:ResultCode>OK</pn:ResultCode><pn:comment>accepted ${count} (already received 0)</pn:comment>` +
  '</pn:ProcessNotificationResponse></soap:Body></soap:Envelope>';

interface Row {
  call_id: number;
  position: number;
  key_hash: string;
  resident: string;
  source_system: string;
  delete_flag: boolean;
  engagement: Record<string, string>;
}

function readTransactions(xml: string, callId: number): Row[] {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const found: Row[] = [];
  let engagement: Record<string, string> | undefined;
  let deleteFlag = false;
  let text = '';
  parser.on('opentag', (tag) => {
    text = '';
    if (tag.local === 'engagementTransaction') {
      engagement = {};
      deleteFlag = false;
    }
  });
  parser.on('text', (value) => (text += value));
  parser.on('closetag', (tag) => {
    const name = tag.local;
    if (name === 'engagementTransaction' && engagement) {
      found.push({
        call_id: callId,
        position: found.length + 1,
        key_hash: `${engagement.logicalAddress}/${engagement.businessObjectInstanceIdentifier}`,
        resident: engagement.registeredResidentIdentification ?? '',
        source_system: engagement.sourceSystem ?? '',
        delete_flag: deleteFlag,
        engagement,
      });
      engagement = undefined;
    } else if (name === 'deleteFlag') {
      deleteFlag = text.trim() === 'true';
    } else if (engagement && name !== 'engagement') {
      engagement[name] = text.trim();
    }
    text = '';
  });
  parser.write(xml).close();
  return found;
}

export interface Baseline {
  url: string;
  close(): Promise<void>;
}

/** Starts the baseline on a free port, writing to `databaseUrl` (where the queue table already exists). */
export async function startBaseline(databaseUrl: string): Promise<Baseline> {
  const sql = postgres(databaseUrl, { max: 10, onnotice: () => {} });
  // The same columns, defaults, checks and indexes as the service's queue table, without its foreign key.
  await sql.unsafe(`create table if not exists ${BASELINE_TABLE} (like inbound_notification including all)`);
  let calls = 0;

  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const handle = async () => {
        const rows = readTransactions(Buffer.concat(parts).toString('utf8'), ++calls);
        await sql`insert into ${sql(BASELINE_TABLE)} ${sql(
          rows.map((row) => ({ ...row, engagement: sql.json(row.engagement) })),
          'call_id',
          'position',
          'key_hash',
          'resident',
          'source_system',
          'delete_flag',
          'engagement',
        )}`;
        res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(ANSWER(rows.length));
      };
      handle().catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      });
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ProcessNotification/1/rivtabp21`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await sql.end({ timeout: 5 });
    },
  };
}
