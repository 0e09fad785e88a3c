// One SMS interface and one e-mail interface; each provider is one small adapter behind them (Twilio,
// SMTP, the outbox files), chosen once at wiring time from configuration.

/** What a provider said about a message, in our words. */
export type ProviderStatus = 'queued' | 'sent' | 'delivered' | 'undelivered' | 'failed';

export interface SentMessage {
  /** The provider's id: Twilio Message SID, SMTP Message-ID, outbox file name. */
  id: string;
  date: Date;
  status: ProviderStatus;
  /** The provider's own status word, for operators. */
  providerStatus: string;
}

export interface SmsMessage {
  /** E.164. */
  to: string;
  body: string;
  /** Our delivery's reference: the same for every attempt of one delivery (idempotency, callbacks). */
  reference: string;
}

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  reference: string;
}

export interface SmsChannel {
  readonly provider: 'twilio' | 'outbox';
  sendMessage(message: SmsMessage): Promise<SentMessage>;
}

export interface EmailChannel {
  readonly provider: 'smtp' | 'outbox';
  sendMessage(message: EmailMessage): Promise<SentMessage>;
  close?(): void;
}

/**
 * A refusal or failure from a provider. `transient` (network, 429, 5xx, SMTP 4xx) is retried with
 * backoff; `permanent` (invalid number, mailbox does not exist) is recorded and not retried.
 * `code` is for operators and logs: it never holds personal data.
 */
export class ChannelError extends Error {
  override name = 'ChannelError';
  constructor(
    readonly kind: 'transient' | 'permanent',
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
