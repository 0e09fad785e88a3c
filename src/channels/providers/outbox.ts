// Without SMTP or Twilio configuration, SMS and e-mail are written as files to DATA_DIR/outbox/ (and a
// log line without personal data), so the embedded default works and a developer can read what went out.
// One file per delivery reference, created exclusively: writing the same delivery again is a no-op.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../logging.js';
import type { EmailChannel, EmailMessage, SentMessage, SentQuery, SmsChannel, SmsMessage } from './types.js';

async function writeOnce(dir: string, name: string, content: object, log: Logger, kind: string): Promise<SentMessage> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  // Written aside, then linked into place: readers never see half a file, and link() refuses to replace.
  const temporary = path.join(dir, `.${name}.${process.pid}.${Date.now()}.tmp`);
  await fs.writeFile(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  try {
    await fs.link(temporary, file);
    log.info({ file: name }, `${kind} written to the outbox`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    log.warn({ file: name }, `${kind} was already in the outbox; not written again`);
  } finally {
    await fs.rm(temporary, { force: true });
  }
  return { id: name, date: new Date(), status: 'sent', providerStatus: 'written' };
}

/** The delivery's file, if it was written (the outbox's answer to "did it go out?"). */
async function findWritten(dir: string, name: string): Promise<SentMessage[]> {
  try {
    const stat = await fs.stat(path.join(dir, name));
    return [{ id: name, date: stat.mtime, status: 'sent', providerStatus: 'written' }];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** An outbox channel: each delivery one file `<channel>-<reference>.json`, written once. */
function outboxChannel<M extends { reference: string }>(
  channel: 'sms' | 'email',
  label: string,
  options: { dataDir: string; log: Logger },
  extra: Record<string, string> = {},
) {
  const dir = path.join(options.dataDir, 'outbox');
  const file = (reference: string) => `${channel}-${reference}.json`;
  return {
    provider: 'outbox' as const,
    sendMessage: (message: M) =>
      writeOnce(
        dir,
        file(message.reference),
        { channel, ...extra, ...message, writtenAt: new Date().toISOString() },
        options.log,
        label,
      ),
    findSent: (query: SentQuery) => findWritten(dir, file(query.reference)),
  };
}

export function outboxSms(options: { dataDir: string; log: Logger }): SmsChannel {
  return outboxChannel<SmsMessage>('sms', 'SMS', options);
}

export function outboxEmail(options: { dataDir: string; from: string; log: Logger }): EmailChannel {
  return outboxChannel<EmailMessage>('email', 'E-mail', options, { from: options.from });
}
