// SMS through Twilio's Messages API with the official `twilio` SDK. Statuses are mapped to ours; Twilio's
// refusals are sorted into transient (retry) and permanent (record). For tests (and a regional proxy),
// `apiBaseUrl` sends the SDK's real requests to another host through its own RequestClient.
import twilio from 'twilio';
import {
  ChannelError,
  type ProviderStatus,
  type SentMessage,
  type SentQuery,
  type SmsChannel,
  type SmsMessage,
} from '../types.js';

export interface TwilioSmsOptions {
  accountSid: string;
  authToken: string;
  /** A Twilio number (E.164), alphanumeric sender id, or Messaging Service SID (MG...). */
  from: string;
  /** Public URL of our status-callback endpoint; the delivery reference is added as `?delivery=`. */
  statusCallbackUrl?: string | undefined;
  /** Instead of https://api.twilio.com (tests: a local server playing Twilio). */
  apiBaseUrl?: string | undefined;
  timeoutMs?: number;
}

/** Twilio's message statuses in our words; undefined for statuses that say nothing about sending. */
export function mapTwilioStatus(status: string): ProviderStatus | undefined {
  switch (status) {
    case 'accepted':
    case 'scheduled':
    case 'queued':
      return 'queued';
    case 'sending':
    case 'sent':
      return 'sent';
    case 'delivered':
    case 'read':
      return 'delivered';
    case 'undelivered':
      return 'undelivered';
    case 'failed':
    case 'canceled':
      return 'failed';
    default:
      return undefined;
  }
}

/** Sorts what the SDK threw: 429, 5xx and the network are worth a retry; a 400 (e.g. 21211) is not. */
export function classifyTwilioError(error: unknown): ChannelError {
  if (error instanceof twilio.RestException) {
    const code = error.code !== undefined ? `twilio_${error.code}` : `http_${error.status}`;
    // 401/403/404 mean our account or configuration, not this citizen's number: retried until fixed or given up.
    const transient =
      error.status === 429 || error.status === 408 || error.status >= 500 || [401, 403, 404].includes(error.status);
    return new ChannelError(
      transient ? 'transient' : 'permanent',
      code,
      `Twilio answered HTTP ${error.status} (${code})`,
    );
  }
  const networkCode = (error as { code?: unknown } | null)?.code;
  return new ChannelError(
    'transient',
    'network',
    `Twilio could not be reached${typeof networkCode === 'string' ? ` (${networkCode})` : ''}`,
  );
}

/** Messages read back per lookup of a delivery in doubt. */
const LOOKUP_PAGE = 50;
/** Twilio's clock and ours may differ a little; date_created has whole seconds. */
const CLOCK_SKEW_MS = 60_000;

export function twilioSms(options: TwilioSmsOptions): SmsChannel {
  const timeout = options.timeoutMs ?? 15_000;
  let httpClient: InstanceType<typeof twilio.RequestClient> | undefined;
  if (options.apiBaseUrl !== undefined) {
    const base = options.apiBaseUrl.replace(/\/$/, '');
    const client = new twilio.RequestClient({ timeout, keepAlive: false });
    const request = client.request.bind(client);
    client.request = (opts) => request({ ...opts, uri: opts.uri.replace(/^https:\/\/api\.twilio\.com/, base) });
    httpClient = client;
  }
  const client = twilio(options.accountSid, options.authToken, {
    timeout,
    // Our sender owns retries and backoff, with the delivery's state recorded between attempts.
    autoRetry: false,
    ...(httpClient ? { httpClient } : {}),
  });

  return {
    provider: 'twilio',
    async sendMessage(message: SmsMessage): Promise<SentMessage> {
      const params: Parameters<typeof client.messages.create>[0] = { to: message.to, body: message.body };
      if (options.from.startsWith('MG')) params.messagingServiceSid = options.from;
      else params.from = options.from;
      if (options.statusCallbackUrl) {
        const url = new URL(options.statusCallbackUrl);
        url.searchParams.set('delivery', message.reference);
        params.statusCallback = url.toString();
      }
      let created;
      try {
        created = await client.messages.create(params);
      } catch (error) {
        throw classifyTwilioError(error);
      }
      const status = mapTwilioStatus(created.status) ?? 'queued';
      return { id: created.sid, date: created.dateCreated ?? new Date(), status, providerStatus: created.status };
    },
    async findSent(query: SentQuery): Promise<SentMessage[]> {
      // Twilio lists messages by recipient (and sender number), newest first; one citizen gets a few SMS
      // a day (SMS_DAILY_CAP), so the first page reaches far back beyond any attempt in doubt.
      const filter: Parameters<typeof client.messages.list>[0] = {
        to: query.to,
        pageSize: LOOKUP_PAGE,
        limit: LOOKUP_PAGE,
      };
      if (!options.from.startsWith('MG')) filter.from = options.from;
      let listed;
      try {
        listed = await client.messages.list(filter);
      } catch (error) {
        throw classifyTwilioError(error);
      }
      const since = query.since.getTime() - CLOCK_SKEW_MS;
      return listed
        .filter(
          (message) =>
            message.direction !== 'inbound' &&
            (options.from.startsWith('MG') ? message.messagingServiceSid === options.from : true) &&
            (message.dateCreated?.getTime() ?? 0) >= since &&
            (query.body === undefined || message.body === query.body),
        )
        .map((message) => ({
          id: message.sid,
          date: message.dateCreated ?? new Date(),
          status: mapTwilioStatus(message.status) ?? 'queued',
          providerStatus: message.status,
        }))
        .sort((a, b) => a.date.getTime() - b.date.getTime());
    },
  };
}
