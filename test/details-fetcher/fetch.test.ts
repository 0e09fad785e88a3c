// GetBookingDetails against a real local SOAP producer: what is sent, how each kind of answer is read.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDetailsFetcher, type GuardedDetailsFetcher } from '../../src/details-fetcher/index.js';
import type { DetailsFetcherOptions } from '../../src/details-fetcher/soap-client.js';
import { sampleTimeslot, startBookingProducer, type BookingProducer } from '../helpers/booking-producer.js';

const CARE_UNIT = 'SE2321000016-VC1';
const RESIDENT = '191212121212';
const CONSUMER = 'SE-TEST-INBOX';

let producer: BookingProducer;
const fetchers: GuardedDetailsFetcher[] = [];

async function fetcher(options: Partial<DetailsFetcherOptions> = {}): Promise<GuardedDetailsFetcher> {
  const created = await createDetailsFetcher({
    config: {
      consumerHsaId: CONSUMER,
      ntjp: { getBookingDetailsUrl: producer.url, tlsCert: undefined, tlsKey: undefined, tlsCa: undefined },
    },
    ...options,
  });
  fetchers.push(created);
  return created;
}

beforeAll(async () => {
  producer = await startBookingProducer();
});
afterEach(async () => {
  producer.handle(undefined);
  producer.reset();
  await Promise.all(fetchers.splice(0).map((f) => f.close()));
});
afterAll(async () => {
  await producer.close();
});

describe('the call', () => {
  it('When a booking is fetched, then the producer gets LogicalAddress, Actor, the consumer HSA-id, SOAPAction and the body fields', async () => {
    producer.addBooking(CARE_UNIT, 'BOK-1');
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome.kind).toBe('found');
    expect(producer.requests).toHaveLength(1);
    expect(producer.requests[0]).toMatchObject({
      logicalAddress: CARE_UNIT,
      actorId: RESIDENT,
      actorType: 'subject_of_care',
      consumerHsaId: CONSUMER,
      soapAction: '"urn:riv:crm:scheduling:GetBookingDetailsResponder:1:GetBookingDetails"',
      healthcareFacility: CARE_UNIT,
      bookingId: 'BOK-1',
    });
    expect(producer.requests[0]?.invalid).toBeUndefined();
  });

  it('When a booking id holds XML special characters, then the producer receives it unchanged', async () => {
    const bookingId = 'BOK <1> & "2"';
    producer.addBooking(CARE_UNIT, bookingId);
    const outcome = await (await fetcher()).fetch({ logicalAddress: CARE_UNIT, bookingId, resident: RESIDENT });

    expect(outcome.kind).toBe('found');
    expect(producer.requests[0]?.bookingId).toBe(bookingId);
  });

  it('When a request lacks a booking id, then fetch refuses it with a clear error and nothing is sent', async () => {
    const client = await fetcher();
    await expect(client.fetch({ logicalAddress: CARE_UNIT, bookingId: ' ', resident: RESIDENT })).rejects.toThrow(
      /bookingId/,
    );
    expect(producer.requests).toHaveLength(0);
  });
});

describe('answers', () => {
  it('When the producer answers with a full booking, then every field is typed and the times are instants', async () => {
    producer.addBooking(CARE_UNIT, 'BOK-1', sampleTimeslot({ bookingId: 'BOK-1', healthcareFacility: CARE_UNIT }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome).toEqual({
      kind: 'found',
      details: {
        start: new Date('2026-11-22T08:30:00Z'),
        end: new Date('2026-11-22T09:00:00Z'),
        startRaw: '20261122093000',
        endRaw: '20261122100000',
        healthcareFacility: CARE_UNIT,
        healthcareFacilityName: 'Vårdcentralen Granen',
        performer: 'SE2321000016-P123',
        performerName: 'Anna Läkare',
        bookingId: 'BOK-1',
        subjectOfCare: RESIDENT,
        purpose: 'Återbesök',
        reason: 'Uppföljning',
        resourceName: 'Mottagning 3',
        resourceId: 'RES-3',
        timeTypeName: 'Besök',
        timeTypeId: 'TT-1',
        careTypeName: 'Läkarbesök',
        careTypeId: 'CT-7',
        cancelBookingAllowed: true,
        rebookingAllowed: false,
        messageAllowed: true,
      },
    });
  });

  it('When the producer answers with an invitation, then isInvitation is read from the 1.1 extension namespace', async () => {
    producer.addBooking(
      CARE_UNIT,
      'INV-1',
      sampleTimeslot({ isInvitation: true, startTimeInclusive: undefined, endTimeExclusive: undefined }),
    );
    producer.addBooking(CARE_UNIT, 'BOK-2', sampleTimeslot({ isInvitation: '0' }));
    const client = await fetcher();

    const invitation = await client.fetch({ logicalAddress: CARE_UNIT, bookingId: 'INV-1', resident: RESIDENT });
    const booking = await client.fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-2', resident: RESIDENT });

    expect(invitation.kind === 'found' && invitation.details).toMatchObject({ isInvitation: true });
    expect(invitation.kind === 'found' && 'start' in invitation.details).toBe(false);
    expect(booking.kind === 'found' && booking.details.isInvitation).toBe(false);
  });

  it('When isInvitation comes in the core namespace instead of the 1.1 extension, then it is not taken', async () => {
    producer.addBooking(
      CARE_UNIT,
      'BOK-1',
      sampleTimeslot({ extraXml: '<core:isInvitation>true</core:isInvitation>' }),
    );
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome.kind).toBe('found');
    expect(outcome.kind === 'found' && 'isInvitation' in outcome.details).toBe(false);
  });

  it('When the answer holds only the mandatory healthcare_facility, then the details hold nothing else', async () => {
    producer.handle(() => ({ details: { healthcareFacility: CARE_UNIT } }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome).toEqual({ kind: 'found', details: { healthcareFacility: CARE_UNIT } });
  });

  it('When optional fields are empty or blank, then they are absent rather than empty strings', async () => {
    producer.handle(() => ({
      details: {
        healthcareFacility: ` ${CARE_UNIT} `,
        purpose: '',
        reason: '   ',
        performerName: '',
        subjectOfCare: '',
        messageAllowed: '',
      },
    }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome).toEqual({ kind: 'found', details: { healthcareFacility: CARE_UNIT } });
  });

  it('When booleans come as 1/0 or as nonsense, then 1/0 are read and nonsense is left absent', async () => {
    producer.handle(() => ({
      details: {
        healthcareFacility: CARE_UNIT,
        cancelBookingAllowed: '1',
        rebookingAllowed: '0',
        messageAllowed: 'yes',
      },
    }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome).toEqual({
      kind: 'found',
      details: { healthcareFacility: CARE_UNIT, cancelBookingAllowed: true, rebookingAllowed: false },
    });
  });

  it('When a time is not a valid TS, then its instant is absent and the raw value is kept', async () => {
    producer.handle(() => ({
      details: {
        healthcareFacility: CARE_UNIT,
        startTimeInclusive: '20261322093000',
        endTimeExclusive: '202611221000',
      },
    }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome).toEqual({
      kind: 'found',
      details: { healthcareFacility: CARE_UNIT, startRaw: '20261322093000', endRaw: '202611221000' },
    });
  });

  it('When a booking starts in the repeated autumn hour and ends in the skipped spring hour, then the documented rules apply', async () => {
    producer.handle(() => ({
      details: {
        healthcareFacility: CARE_UNIT,
        startTimeInclusive: '20261025023000',
        endTimeExclusive: '20260329023000',
      },
    }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome.kind === 'found' && outcome.details.start?.toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(outcome.kind === 'found' && outcome.details.end?.toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });

  it('When subject_of_care names another person than the resident, then the outcome is subject-mismatch without either number', async () => {
    producer.addBooking(CARE_UNIT, 'BOK-1', sampleTimeslot({ subjectOfCare: '197001011234' }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome.kind).toBe('subject-mismatch');
    expect(JSON.stringify(outcome)).not.toMatch(/197001011234|191212121212/);
  });

  it('When subject_of_care is the resident written with a lower-case reserve letter, then it matches', async () => {
    producer.addBooking(CARE_UNIT, 'BOK-1', sampleTimeslot({ subjectOfCare: '19121212t123' }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: '19121212T123' });

    expect(outcome.kind).toBe('found');
  });
});

describe('not found', () => {
  it('When the producer answers with a "not found" fault, then the outcome is not-found', async () => {
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'NO-SUCH', resident: RESIDENT });

    expect(outcome).toMatchObject({ kind: 'not-found', reason: expect.stringContaining('Booking not found') });
  });

  it('When the producer says it in Swedish, then the outcome is not-found too', async () => {
    producer.handle(() => ({ fault: 'Bokningen finns inte', faultcode: 'soap:Client' }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'NO-SUCH', resident: RESIDENT });

    expect(outcome.kind).toBe('not-found');
  });

  it('When the answer holds no timeslotDetail, then the outcome is not-found', async () => {
    producer.handle(() => ({ noTimeslot: true }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome).toEqual({ kind: 'not-found', reason: 'the answer holds no timeslotDetail' });
  });
});

describe('failures', () => {
  it('When the producer does not answer within the timeout, then the outcome is transient after the timeout, without waiting for an answer', async () => {
    producer.addBooking(CARE_UNIT, 'BOK-1');
    // The producer never answers: that the fetch returns at all is the timeout at work.
    producer.handle(() => ({ hang: true }));
    const client = await fetcher({ timeoutMs: 300 });

    const started = performance.now();
    const outcome = await client.fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });
    const elapsed = performance.now() - started;

    expect(outcome).toMatchObject({ kind: 'transient', reason: 'no answer within 300 ms' });
    expect(producer.requestsTo(CARE_UNIT)).toHaveLength(1);
    // Not before the timeout (a lower bound: a loaded machine only makes it later).
    expect(elapsed).toBeGreaterThanOrEqual(290);
  });

  it('When the producer answers HTTP 500 with an HTML page, then the outcome is transient and suggests no wait (the retry policy of the queue schedules it)', async () => {
    producer.handle(() => ({
      status: 500,
      body: '<html><body>Internal Server Error</body></html>',
      contentType: 'text/html',
    }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome).toMatchObject({ kind: 'transient', reason: 'HTTP 500 without a SOAP fault' });
    expect(outcome).not.toHaveProperty('retryAfterMs');
  });

  it('When HTTP 503 comes with an empty body and the caller gave no attempt, then the outcome is transient and leaves the wait to the caller', async () => {
    producer.handle(() => ({ status: 503 }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome).toEqual({ kind: 'transient', reason: 'HTTP 503 without a SOAP fault' });
    expect('retryAfterMs' in outcome).toBe(false);
  });

  it('When values need escaping, then the request is exactly what soap 1.13 writes (body serialised by soap before, written by us now)', async () => {
    const client = await fetcher();
    await client.fetch({ logicalAddress: `SE&<>"'x`, bookingId: 'B\t1\r\n2 ', resident: RESIDENT });
    await client.fetch({ logicalAddress: 'SE1', bookingId: '<![CDATA[B&1]]>', resident: RESIDENT });

    const envelope = (header: string, body: string) =>
      '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"  ' +
      'xmlns:gbd="urn:riv:crm:scheduling:GetBookingDetailsResponder:1" ' +
      'xmlns:tns="urn:riv:crm:scheduling:GetBookingDetails:1:rivtabp21"><soap:Header>' +
      `<itr:LogicalAddress xmlns:itr="urn:riv:itintegration:registry:1">${header}</itr:LogicalAddress> ` +
      `<ih:Actor xmlns:ih="urn:riv:interoperability:headers:1"><ih:actorId>${RESIDENT}</ih:actorId>` +
      '<ih:actorType>subject_of_care</ih:actorType></ih:Actor></soap:Header><soap:Body>' +
      '<gbd:GetBookingDetails xmlns:gbd="urn:riv:crm:scheduling:GetBookingDetailsResponder:1" ' +
      `xmlns="urn:riv:crm:scheduling:GetBookingDetailsResponder:1">${body}</gbd:GetBookingDetails>` +
      '</soap:Body></soap:Envelope>';
    expect(producer.requests.map((request) => request.body)).toEqual([
      envelope(
        "SE&amp;&lt;&gt;&quot;'x",
        '<gbd:healthcare_facility>SE&amp;&lt;&gt;&quot;&apos;x</gbd:healthcare_facility>' +
          '<gbd:bookingId>B&#x9;1&#xD;&#xA;2 </gbd:bookingId>',
      ),
      envelope(
        'SE1',
        '<gbd:healthcare_facility>SE1</gbd:healthcare_facility><gbd:bookingId><![CDATA[B&1]]></gbd:bookingId>',
      ),
    ]);
  });

  it('When HTTP_PROXY is set, then calls go through that proxy; without it, straight to the URL', async () => {
    producer.addBooking(CARE_UNIT, 'BOK-1');
    const request = { logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT };
    const proxied: string[] = [];
    const proxyServer = http.createServer((req, res) => {
      proxied.push(req.url ?? '');
      res.writeHead(502).end();
    });
    await new Promise<void>((resolve) => proxyServer.listen(0, '127.0.0.1', resolve));
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, http_proxy: process.env.http_proxy };
    const restore = () => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    };
    try {
      process.env.HTTP_PROXY = `http://127.0.0.1:${(proxyServer.address() as AddressInfo).port}`;
      delete process.env.http_proxy;
      expect(await (await fetcher()).fetch(request)).toEqual({
        kind: 'transient',
        reason: 'HTTP 502 without a SOAP fault',
      });
      expect(proxied).toEqual([producer.url]);
      expect(producer.requests).toHaveLength(0);

      delete process.env.HTTP_PROXY;
      expect((await (await fetcher()).fetch(request)).kind).toBe('found');
      expect(producer.requests).toHaveLength(1);
      expect(proxied).toHaveLength(1);
    } finally {
      restore();
      await new Promise<void>((resolve) => proxyServer.close(() => resolve()));
    }
  });

  it('When nothing listens at the URL, then the outcome is transient (connection refused)', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const outcome = await (
      await fetcher({ url: `http://127.0.0.1:${port}/GetBookingDetails/1/rivtabp21` })
    ).fetch({
      logicalAddress: CARE_UNIT,
      bookingId: 'BOK-1',
      resident: RESIDENT,
    });

    expect(outcome).toMatchObject({ kind: 'transient', reason: expect.stringContaining('ECONNREFUSED') });
  });

  it.each([
    ['VP009 Error connecting to service producer at address https://pas.example', 'transient', undefined],
    [
      'VP004 No Logical Adress found for serviceNamespace:urn:riv:crm:scheduling:GetBookingDetailsResponder:1, receiverId:SE2321000016-VC1',
      'configuration',
      'VP004',
    ],
    [
      'VP007 Authorization missing for serviceNamespace: urn:riv:crm:scheduling:GetBookingDetailsResponder:1',
      'configuration',
      'VP007',
    ],
    ['java.lang.NullPointerException at se.pas.Booking.get', 'transient', undefined],
  ])(
    'When the platform or producer answers the fault "%s", then the outcome is %s',
    async (faultstring, kind, code) => {
      producer.handle(() => ({ fault: faultstring }));
      const outcome = await (
        await fetcher({ configurationRetryMs: 600_000 })
      ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

      expect(outcome.kind).toBe(kind);
      if (outcome.kind === 'configuration') {
        expect(outcome.code).toBe(code);
        expect(outcome.retryAfterMs).toBe(600_000);
      }
    },
  );

  it('When the platform answers HTTP 404 (a wrong URL), then the outcome is configuration', async () => {
    producer.handle(() => ({ status: 404, body: 'Not Found', contentType: 'text/plain' }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome).toMatchObject({ kind: 'configuration', code: 'HTTP404' });
  });

  it('When a fault text quotes a personal identity number, then the reason masks it', async () => {
    producer.handle(() => ({ fault: `No access for patient ${RESIDENT}` }));
    const outcome = await (
      await fetcher()
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome.kind).toBe('transient');
    expect(JSON.stringify(outcome)).not.toContain(RESIDENT);
  });

  const malformed: [string, string][] = [
    ['not XML', 'this is not xml <<'],
    [
      'truncated XML',
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><gbd:GetBookingDetailsResponse xmlns:gbd="urn:riv:crm:scheduling:GetBookingDetailsResponder:1"><gbd:timeslotDetail>',
    ],
    [
      "another service's answer",
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x:GetOtherResponse xmlns:x="urn:other"/></soap:Body></soap:Envelope>',
    ],
    [
      'the answer in a wrong namespace',
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x:GetBookingDetailsResponse xmlns:x="urn:wrong"><x:timeslotDetail/></x:GetBookingDetailsResponse></soap:Body></soap:Envelope>',
    ],
    [
      'a DTD',
      '<!DOCTYPE x [<!ENTITY e "boom">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>',
    ],
    ['an empty body', ''],
    [
      'a timeslot without healthcare_facility',
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><gbd:GetBookingDetailsResponse xmlns:gbd="urn:riv:crm:scheduling:GetBookingDetailsResponder:1" xmlns:c="urn:riv:crm:scheduling:1"><gbd:timeslotDetail><c:bookingId>BOK-1</c:bookingId></gbd:timeslotDetail></gbd:GetBookingDetailsResponse></soap:Body></soap:Envelope>',
    ],
    [
      'two timeslots',
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><gbd:GetBookingDetailsResponse xmlns:gbd="urn:riv:crm:scheduling:GetBookingDetailsResponder:1" xmlns:c="urn:riv:crm:scheduling:1"><gbd:timeslotDetail><c:healthcare_facility>A</c:healthcare_facility></gbd:timeslotDetail><gbd:timeslotDetail><c:healthcare_facility>B</c:healthcare_facility></gbd:timeslotDetail></gbd:GetBookingDetailsResponse></soap:Body></soap:Envelope>',
    ],
    [
      'markup inside a value',
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><gbd:GetBookingDetailsResponse xmlns:gbd="urn:riv:crm:scheduling:GetBookingDetailsResponder:1" xmlns:c="urn:riv:crm:scheduling:1"><gbd:timeslotDetail><c:healthcare_facility><b>A</b></c:healthcare_facility></gbd:timeslotDetail></gbd:GetBookingDetailsResponse></soap:Body></soap:Envelope>',
    ],
  ];
  it.each(malformed)(
    'When the producer answers HTTP 200 with %s, then the outcome is malformed',
    async (_name, body) => {
      producer.handle(() => ({ status: 200, body }));
      const outcome = await (
        await fetcher()
      ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

      expect(outcome.kind).toBe('malformed');
    },
  );

  it('When the answer is larger than the limit, then the outcome is malformed', async () => {
    producer.handle(() => ({ details: { healthcareFacility: CARE_UNIT, purpose: 'x'.repeat(20_000) } }));
    const outcome = await (
      await fetcher({ maxAnswerBytes: 10_000 })
    ).fetch({ logicalAddress: CARE_UNIT, bookingId: 'BOK-1', resident: RESIDENT });

    expect(outcome).toMatchObject({ kind: 'malformed', reason: 'answer longer than 10000 bytes' });
  });
});
