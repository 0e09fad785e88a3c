// Which booking-service links a booking gets (table-tested), how the template is filled, and how the
// configuration refuses a template that cannot work.
import { describe, expect, it } from 'vitest';
import {
  bookingLinks,
  offeredActions,
  templateProblem,
  type BookingLinkSubject,
} from '../../src/inbox/booking-service.js';
import { ConfigError, loadConfig } from '../../src/config.js';

const subject = (over: Partial<BookingLinkSubject>): BookingLinkSubject => ({
  careUnit: 'SE2321000016-ABCD',
  bookingId: 'BK 1/2',
  state: 'upcoming',
  cancelAllowed: false,
  rebookAllowed: false,
  ...over,
});

describe('Which actions the booking service is offered for', () => {
  const rows: [string, Partial<BookingLinkSubject>, string[]][] = [
    [
      'an upcoming time the producer lets be cancelled and rebooked',
      { cancelAllowed: true, rebookAllowed: true },
      ['avboka', 'omboka'],
    ],
    ['an upcoming time that may only be cancelled', { cancelAllowed: true }, ['avboka']],
    ['an upcoming time that may only be rebooked', { rebookAllowed: true }, ['omboka']],
    ['an upcoming time that may not be changed on the web', {}, []],
    ['a time that has passed', { state: 'passed', cancelAllowed: true, rebookAllowed: true }, []],
    ['an invitation without a time', { state: 'open' }, ['boka']],
    ['a cancelled time that could be changed on the web', { state: 'cancelled', cancelAllowed: true }, ['boka']],
    ['a cancelled time that could not be changed on the web', { state: 'cancelled' }, []],
  ];
  for (const [situation, over, expected] of rows) {
    it(`When it is ${situation}, then: ${expected.join(', ') || 'none'}`, () => {
      expect(offeredActions(subject(over))).toEqual(expected);
    });
  }
});

describe('Booking-service links', () => {
  it('When no template is configured, then there are no links whatever the producer allows', () => {
    expect(bookingLinks(undefined, subject({ cancelAllowed: true, rebookAllowed: true }))).toEqual([]);
  });

  it('When the template has {action}, then each action has its own link, with the ids URL-encoded', () => {
    const links = bookingLinks(
      'https://boka.example.se/{careUnit}/{bookingId}?gora={action}',
      subject({ cancelAllowed: true, rebookAllowed: true }),
    );
    expect(links).toEqual([
      {
        actions: ['avboka'],
        label: 'Avboka tiden',
        href: 'https://boka.example.se/SE2321000016-ABCD/BK%201%2F2?gora=avboka',
      },
      {
        actions: ['omboka'],
        label: 'Boka om tiden',
        href: 'https://boka.example.se/SE2321000016-ABCD/BK%201%2F2?gora=omboka',
      },
    ]);
  });

  it('When the template has no {action}, then one link names every allowed action', () => {
    expect(
      bookingLinks(
        'https://boka.example.se/?enhet={careUnit}&id={bookingId}',
        subject({ cancelAllowed: true, rebookAllowed: true }),
      ),
    ).toEqual([
      {
        actions: ['avboka', 'omboka'],
        label: 'Avboka eller boka om tiden',
        href: 'https://boka.example.se/?enhet=SE2321000016-ABCD&id=BK%201%2F2',
      },
    ]);
  });

  it('When a cancelled time could be changed on the web, then the link is to book a new time', () => {
    expect(
      bookingLinks(
        'https://boka.example.se/{careUnit}/{bookingId}',
        subject({ state: 'cancelled', rebookAllowed: true }),
      )[0]?.label,
    ).toBe('Boka en ny tid');
  });

  it('When the booking has no id, then there is no link', () => {
    expect(
      bookingLinks('https://boka.example.se/{bookingId}', subject({ bookingId: null, cancelAllowed: true })),
    ).toEqual([]);
  });
});

describe('BOOKING_SERVICE_URL', () => {
  it('When a template lacks {bookingId}, is not a URL, or is plain http in production, then it is refused', () => {
    expect(templateProblem('https://boka.example.se/{careUnit}', false)).toMatch(/\{bookingId\}/);
    expect(templateProblem('boka.example.se/{bookingId}', false)).toMatch(/not a URL/);
    expect(templateProblem('http://boka.example.se/{bookingId}', true)).toMatch(/https/);
    expect(templateProblem('javascript:alert(1)//{bookingId}', false)).toMatch(/http/);
    expect(templateProblem('http://localhost:8081/{bookingId}', false)).toBeUndefined();
  });

  it('When each environment has its own template, then the one of APP_ENVIRONMENT applies, else the common one', () => {
    const env = {
      BOOKING_SERVICE_URL: 'https://boka.example.se/{bookingId}',
      BOOKING_SERVICE_URL_QA: 'https://qa.boka.example.se/{careUnit}/{bookingId}',
    };
    expect(loadConfig({ ...env, APP_ENVIRONMENT: 'qa' }).bookingServiceUrl).toBe(env.BOOKING_SERVICE_URL_QA);
    expect(loadConfig({ ...env, APP_ENVIRONMENT: 'prod' }).bookingServiceUrl).toBe(env.BOOKING_SERVICE_URL);
    expect(loadConfig({}).bookingServiceUrl).toBeUndefined();
    expect(() =>
      loadConfig({ APP_ENVIRONMENT: 'prod', BOOKING_SERVICE_URL_PROD: 'http://boka.example.se/{bookingId}' }),
    ).toThrow(ConfigError);
    expect(() => loadConfig({ BOOKING_SERVICE_URL: 'https://boka.example.se/' })).toThrow(
      /BOOKING_SERVICE_URL must contain \{bookingId\}/,
    );
  });
});
