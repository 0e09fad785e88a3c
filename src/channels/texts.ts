// The generic notification texts, rendered with Handlebars from templates/notifications/. They only say
// that new messages are waiting (and how many): never the care unit, a time, a care type or an identity
// number (docs/RULES.md). The templates see nothing else, so they cannot leak what they are not given.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { DEFAULT_INBOX_URL } from '../config.js';

const TEMPLATES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../templates');

export interface NotificationTexts {
  sms(count: number): string;
  email(count: number): { subject: string; text: string; html: string };
}

export function loadNotificationTexts(options: { templatesDir?: string; inboxUrl?: string } = {}): NotificationTexts {
  const dir = path.join(options.templatesDir ?? TEMPLATES_DIR, 'notifications');
  const inboxUrl = options.inboxUrl ?? DEFAULT_INBOX_URL;
  // Plain-text outputs are not HTML-escaped; the HTML body is (the default).
  const plain = (name: string) =>
    Handlebars.compile(fs.readFileSync(path.join(dir, `${name}.hbs`), 'utf8'), { noEscape: true, strict: true });
  const sms = plain('sms');
  const subject = plain('email-subject');
  const text = plain('email-text');
  const html = Handlebars.compile(fs.readFileSync(path.join(dir, 'email-html.hbs'), 'utf8'), { strict: true });
  const context = (count: number) => ({ count, many: count > 1, inboxUrl });
  return {
    sms: (count) => sms(context(count)).trim(),
    email: (count) => ({
      subject: subject(context(count)).trim(),
      text: text(context(count)),
      html: html(context(count)),
    }),
  };
}
