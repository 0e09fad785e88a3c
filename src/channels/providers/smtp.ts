// E-mail through SMTP with nodemailer (SMTP_URL, MAIL_FROM). The Message-ID is derived from the delivery
// reference, so a resend of the same delivery (which our state machine avoids) would carry the same id
// and can be recognised as a duplicate downstream.
import nodemailer from 'nodemailer';
import { ChannelError, type EmailChannel, type EmailMessage, type SentMessage } from './types.js';

export interface SmtpEmailOptions {
  url: string;
  from: string;
  timeoutMs?: number;
}

interface SmtpFailure {
  code?: string;
  responseCode?: number;
}

/** 4xx answers and connection trouble are transient; 5xx answers (no such mailbox, refused) permanent. */
export function classifySmtpError(error: unknown): ChannelError {
  const { code, responseCode } = (typeof error === 'object' && error !== null ? error : {}) as SmtpFailure;
  if (typeof responseCode === 'number') {
    const kind = responseCode >= 500 ? 'permanent' : 'transient';
    return new ChannelError(kind, `smtp_${responseCode}`, `The SMTP server answered ${responseCode}`);
  }
  // EENVELOPE without a response code: nodemailer refused the address itself.
  if (code === 'EENVELOPE') return new ChannelError('permanent', 'smtp_envelope', 'The recipient address was refused');
  return new ChannelError('transient', 'network', `The SMTP server could not be reached${code ? ` (${code})` : ''}`);
}

function domainOf(from: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return match?.[1] ?? 'ei-inbox.invalid';
}

export function smtpEmail(options: SmtpEmailOptions): EmailChannel {
  const timeout = options.timeoutMs ?? 20_000;
  const transport = nodemailer.createTransport({
    url: options.url,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  const domain = domainOf(options.from);
  return {
    provider: 'smtp',
    async sendMessage(message: EmailMessage): Promise<SentMessage> {
      let info;
      try {
        info = await transport.sendMail({
          from: options.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          messageId: `<notification-${message.reference}@${domain}>`,
          headers: { 'Auto-Submitted': 'auto-generated' },
        });
      } catch (error) {
        throw classifySmtpError(error);
      }
      if (info.rejected.length > 0)
        throw new ChannelError('permanent', 'smtp_rejected', 'The recipient address was refused');
      return { id: info.messageId, date: new Date(), status: 'sent', providerStatus: 'accepted' };
    },
    close() {
      transport.close();
    },
  };
}
