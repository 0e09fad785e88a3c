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

/** A hand-over that may or may not have happened (the sender stopped during it): what to look for. */
export interface SentQuery {
  to: string;
  reference: string;
  /** The text that was being sent (SMS), to tell our message from others to the same number. */
  body?: string;
  /** When the attempt began: the message, if it went out, was created after this (less some clock skew). */
  since: Date;
}

export interface SmsChannel {
  readonly provider: 'twilio' | 'outbox';
  sendMessage(message: SmsMessage): Promise<SentMessage>;
  /**
   * The provider's own record of messages that match the query, oldest first (Twilio: its message list
   * by recipient; the outbox: the delivery's file). Empty: it did not go out. Throws ChannelError when the
   * provider cannot be asked now.
   */
  findSent(query: SentQuery): Promise<SentMessage[]>;
}

export interface EmailChannel {
  readonly provider: 'smtp' | 'outbox';
  sendMessage(message: EmailMessage): Promise<SentMessage>;
  /** As SmsChannel.findSent; absent when the provider cannot be asked (SMTP): the e-mail is sent again. */
  findSent?(query: SentQuery): Promise<SentMessage[]>;
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
