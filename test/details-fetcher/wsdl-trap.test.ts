// Why the client is built from a body-only WSDL: what the soap package sends when it is given the
// complete RIVTA WSDL (LogicalAddress and Actor as header parts of the input message).
import path from 'node:path';
import soap from 'soap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBookingProducer, type BookingProducer } from '../helpers/booking-producer.js';

const WSDL_DIR = path.resolve(import.meta.dirname, '../../wsdl/get-booking-details');
let producer: BookingProducer;

beforeAll(async () => {
  producer = await startBookingProducer();
  producer.addBooking('SE2321000016-VC1', 'BOK-1');
});
afterAll(async () => {
  await producer.close();
});

describe('the soap client and RIVTA header parts', () => {
  it('When the soap client is given the complete WSDL, then it wraps the body in LogicalAddress and sends no SOAP header', async () => {
    const client = await soap.createClientAsync(
      path.join(WSDL_DIR, 'GetBookingDetailsInteraction_1.1_RIVTABP21.wsdl'),
      { endpoint: producer.url },
    );
    await client
      .GetBookingDetailsAsync({ healthcare_facility: 'SE2321000016-VC1', bookingId: 'BOK-1' })
      .catch(() => undefined);

    const sent = client.lastRequest as string;
    expect(sent).toMatch(
      /<soap:Body><itr:LogicalAddress[^>]*><itr:healthcare_facility>SE2321000016-VC1<\/itr:healthcare_facility>/,
    );
    expect(sent).not.toContain('<soap:Header');
    expect(producer.requests.at(-1)?.invalid).toBe('the SOAP Body holds no GetBookingDetails');
  });

  it('When the soap client is given the body-only WSDL, then the body is a GetBookingDetails in the responder namespace', async () => {
    const client = await soap.createClientAsync(path.join(WSDL_DIR, 'GetBookingDetailsInteraction_body-only.wsdl'), {
      endpoint: producer.url,
    });
    client.addSoapHeader(
      '<itr:LogicalAddress xmlns:itr="urn:riv:itintegration:registry:1">SE2321000016-VC1</itr:LogicalAddress>',
    );
    await client.GetBookingDetailsAsync({ healthcare_facility: 'SE2321000016-VC1', bookingId: 'BOK-1' });

    expect(client.lastRequest).toContain(
      '<gbd:GetBookingDetails xmlns:gbd="urn:riv:crm:scheduling:GetBookingDetailsResponder:1"',
    );
    expect(producer.requests.at(-1)).toMatchObject({
      logicalAddress: 'SE2321000016-VC1',
      bookingId: 'BOK-1',
      healthcareFacility: 'SE2321000016-VC1',
    });
    expect(producer.requests.at(-1)?.invalid).toBeUndefined();
  });
});
