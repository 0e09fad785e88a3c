// The channels component's interface: the request for a notice of a new message (the hand-off from the
// inbox, inside its transaction), citizen settings, the providers chosen from configuration, the sender
// loop, and Twilio's status reports.
import { sql } from 'drizzle-orm';
import type { Express } from 'express';
import type { Config } from '../config.js';
import { columnNames, rows, type Database, type Executor } from '../db/index.js';
import type { Logger } from '../logging.js';
import { outboxEmail, outboxSms } from './providers/outbox.js';
import { smtpEmail } from './providers/smtp.js';
import { twilioSms } from './providers/twilio/sms.js';
import type { EmailChannel, SmsChannel } from './providers/types.js';
import { notificationRequests, type Channel } from './schema.js';
import { startChannelSender, type ChannelSender, type SenderOptions } from './sender/index.js';
import { loadNotificationTexts } from './texts.js';
import { twilioStatusRouter } from './providers/twilio/status.js';

export {
  citizenSettingsRouter,
  normaliseEmailAddress,
  normalisePhoneNumber,
  readCitizenSettings,
  saveCitizenSettings,
  SettingsError,
  type CitizenSettings,
  type CitizenSettingsInput,
} from './settings.js';
export {
  releaseDeadSenders,
  startChannelSender,
  type ChannelSender,
  type SenderOptions,
  type SenderRound,
} from './sender/index.js';
export {
  ChannelError,
  type EmailChannel,
  type SmsChannel,
  type SentMessage,
  type ProviderStatus,
} from './providers/types.js';
export { twilioSms } from './providers/twilio/sms.js';
export { smtpEmail } from './providers/smtp.js';
export { outboxEmail, outboxSms } from './providers/outbox.js';
export { loadNotificationTexts, type NotificationTexts } from './texts.js';
export { TWILIO_STATUS_PATH, twilioStatusRouter } from './providers/twilio/status.js';

// The requests' table and columns named through the schema (`r.message_id` below is the recordset's field).
const nr = columnNames(notificationRequests);

/** A new inbox message whose citizen may want an SMS / e-mail saying that it is waiting. */
export interface NotificationRequest {
  resident: string;
  messageId: number;
}

/**
 * Asks for a notice of each new message, inside the caller's transaction, so that a message and its
 * request commit together (the sender decides later whether and when to send: settings, digest, quiet
 * hours, cap). One request per message (unique). Resolves to the number of requests written.
 */
export async function requestNotifications(tx: Executor, requests: readonly NotificationRequest[]): Promise<number> {
  if (requests.length === 0) return 0;
  const json = JSON.stringify(
    requests.map((request) => ({ resident: request.resident, message_id: request.messageId })),
  );
  const written = await rows<{ message_id: string | number }>(
    tx,
    sql`insert into ${notificationRequests} (${nr.resident}, ${nr.messageId})
        select r.resident, r.message_id from jsonb_to_recordset(${json}::jsonb) as r(resident text, message_id bigint)
        order by r.message_id
        returning ${nr.messageId}`,
  );
  return written.length;
}

type ChannelConfig = Pick<Config, 'smtp' | 'twilio' | 'dataDir'>;

export interface ChannelProviders {
  sms: SmsChannel;
  email: EmailChannel;
  close(): void;
}

/** Twilio when TWILIO_* is set, SMTP when SMTP_URL is set; otherwise the outbox files under DATA_DIR/outbox/. */
export function channelProvidersOf(config: ChannelConfig, log: Logger): ChannelProviders {
  const { accountSid, authToken, from, statusCallbackUrl, apiUrl } = config.twilio;
  // loadConfig has made sure that Twilio's three variables are set together or not at all.
  const sms =
    accountSid && authToken && from
      ? twilioSms({ accountSid, authToken, from, statusCallbackUrl, apiBaseUrl: apiUrl })
      : outboxSms({ dataDir: config.dataDir, log });
  const email = config.smtp.url
    ? smtpEmail({ url: config.smtp.url, from: config.smtp.from })
    : outboxEmail({ dataDir: config.dataDir, from: config.smtp.from, log });
  return { sms, email, close: () => email.close?.() };
}

export type SenderTuning = Partial<
  Pick<
    SenderOptions,
    | 'now'
    | 'pollMs'
    | 'leaseMs'
    | 'maxAttempts'
    | 'backoffMs'
    | 'batchSize'
    | 'workerId'
    | 'onSent'
    | 'onDoubtSettled'
    | 'mayHandOver'
  >
>;

export interface ChannelsDependencies {
  config: Pick<
    Config,
    'smtp' | 'twilio' | 'dataDir' | 'notifyDigestSeconds' | 'smsQuietHours' | 'smsDailyCap' | 'inboxUrl'
  >;
  database: Database;
  log: Logger;
  /** Providers built by the caller (tests); otherwise from the configuration. */
  providers?: Pick<ChannelProviders, Channel>;
  tuning?: SenderTuning;
}

/** The sender loop (role `sender`); stop it before the database closes. */
export function startChannels(deps: ChannelsDependencies): { sender: ChannelSender; stop(): Promise<void> } {
  const owned = deps.providers ? undefined : channelProvidersOf(deps.config, deps.log);
  const providers = deps.providers ?? owned!;
  const sender = startChannelSender({
    database: deps.database,
    log: deps.log,
    sms: providers.sms,
    email: providers.email,
    texts: loadNotificationTexts({ inboxUrl: deps.config.inboxUrl }),
    digestSeconds: deps.config.notifyDigestSeconds,
    quietHours: deps.config.smsQuietHours,
    smsDailyCap: deps.config.smsDailyCap,
    ...deps.tuning,
  });
  return {
    sender,
    async stop() {
      await sender.stop();
      owned?.close();
    },
  };
}

/** `POST /channels/twilio/status`, when Twilio is configured (its auth token verifies the signatures). */
export function mountTwilioStatus(
  app: Express,
  deps: { config: Pick<Config, 'twilio'>; database: Database; log: Logger },
): void {
  const { authToken, statusCallbackUrl } = deps.config.twilio;
  if (!authToken) return;
  app.use(twilioStatusRouter({ database: deps.database, log: deps.log, authToken, publicUrl: statusCallbackUrl }));
}

export { purgeChannels, type ChannelRetention } from './retention.js';
export { CHANNELS, type Channel, type DeliveryState } from './schema.js';
export type { SettingsProblem } from './settings.js';
export { channelsOpenApi } from './openapi.js';
