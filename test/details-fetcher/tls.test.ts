// GetBookingDetails over HTTPS with a client certificate (NTJP_TLS_CERT/KEY/CA), against a producer that
// requires one. The certificates are made for this test with the openssl CLI.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDetailsFetcher,
  DetailsFetcherSetupError,
  type GuardedDetailsFetcher,
} from '../../src/details-fetcher/index.js';
import { sampleTimeslot, startBookingProducer, type BookingProducer } from '../helpers/booking-producer.js';

let dir: string;
let producer: BookingProducer;
const file = (name: string) => path.join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A key and a certificate signed by the test CA. */
function issue(name: string, subject: string, extensions: string): void {
  fs.writeFileSync(file(`${name}.ext`), extensions);
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    subject,
  );
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  );
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntjp-tls-'));
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=Test NTjP CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  issue('producer', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  issue('inbox', '/CN=SE-TEST-INBOX', 'extendedKeyUsage=clientAuth\n');
  producer = await startBookingProducer({
    tls: {
      key: fs.readFileSync(file('producer.key')),
      cert: fs.readFileSync(file('producer.crt')),
      ca: fs.readFileSync(file('ca.crt')),
    },
  });
  producer.addBooking('SE2321000016-VC1', 'BOK-1', sampleTimeslot());
});
afterAll(async () => {
  await producer?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function fetcherWith(ntjp: {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}): Promise<GuardedDetailsFetcher> {
  return createDetailsFetcher({
    config: {
      consumerHsaId: 'SE-TEST-INBOX',
      ntjp: { getBookingDetailsUrl: producer.url, tlsCert: undefined, tlsKey: undefined, tlsCa: undefined, ...ntjp },
    },
    timeoutMs: 3_000,
  });
}

const request = { logicalAddress: 'SE2321000016-VC1', bookingId: 'BOK-1', resident: '191212121212' };

describe('TLS with a client certificate', () => {
  it('When the client certificate and the CA are configured, then the producer sees the certificate and the booking is found', async () => {
    const client = await fetcherWith({ tlsCert: file('inbox.crt'), tlsKey: file('inbox.key'), tlsCa: file('ca.crt') });
    try {
      const outcome = await client.fetch(request);
      expect(outcome.kind).toBe('found');
      expect(producer.requests.at(-1)?.clientCertificateCn).toBe('SE-TEST-INBOX');
    } finally {
      await client.close();
    }
  });

  it('When no client certificate is configured, then the producer refuses the connection and the outcome is a TLS configuration error', async () => {
    const before = producer.requests.length;
    const client = await fetcherWith({ tlsCa: file('ca.crt') });
    try {
      const outcome = await client.fetch(request);
      expect(outcome).toMatchObject({ kind: 'configuration', code: 'TLS' });
      expect(producer.requests.length).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('When the producer certificate is not signed by the configured CA, then the call is refused as a TLS configuration error', async () => {
    const client = await fetcherWith({ tlsCert: file('inbox.crt'), tlsKey: file('inbox.key') });
    try {
      expect(await client.fetch(request)).toMatchObject({ kind: 'configuration', code: 'TLS' });
    } finally {
      await client.close();
    }
  });

  it('When a certificate file cannot be read, then creating the fetcher fails naming the variable', async () => {
    await expect(fetcherWith({ tlsCert: file('missing.crt'), tlsKey: file('inbox.key') })).rejects.toThrow(
      DetailsFetcherSetupError,
    );
    await expect(fetcherWith({ tlsCert: file('missing.crt'), tlsKey: file('inbox.key') })).rejects.toThrow(
      /NTJP_TLS_CERT/,
    );
  });
});
