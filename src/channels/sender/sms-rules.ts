// What the sender does with a due delivery at its claim, as a pure decision (table-tested in
// test/channels/sender-rules.test.ts): cancel it (the citizen turned the channel off), hold an SMS (quiet
// hours until they end, the daily cap until the next Swedish day), or send it to the current address.
import { endOfQuietHours, isQuiet, nextSwedishDayForSms, type QuietHours } from '../quiet-hours.js';
import type { Channel, DeliveryState } from '../schema.js';

export type { Channel };

/** SMS that count towards the daily cap: everything handed over or possibly handed over today. */
export const SMS_COUNTED_STATUSES: readonly DeliveryState[] = [
  'sending',
  'queued',
  'sent',
  'delivered',
  'undelivered',
  'in_doubt',
  'unknown',
];

export interface SmsRules {
  /** SMS_QUIET_HOURS, Swedish local time; undefined: none. */
  quietHours: QuietHours | undefined;
  /** SMS_DAILY_CAP: SMS per citizen per Swedish day. */
  dailyCap: number;
}

export interface DueDelivery {
  channel: Channel;
  /** The citizen's current address on this channel; null: the channel is off (or has no address). */
  target: string | null;
  /** SMS of this citizen counted today (SMS_COUNTED_STATUSES since the start of the Swedish day). */
  smsSentToday: number;
}

export type ClaimDecision =
  | { kind: 'cancel'; reason: 'channel_off' }
  | { kind: 'hold'; reason: 'quiet_hours' | 'daily_cap'; until: Date }
  | { kind: 'send'; recipient: string };

export function decideClaim(delivery: DueDelivery, at: Date, rules: SmsRules): ClaimDecision {
  // Turned off (or the address removed) after the message came: the citizen's latest wish wins.
  if (delivery.target === null) return { kind: 'cancel', reason: 'channel_off' };
  if (delivery.channel === 'sms') {
    if (isQuiet(at, rules.quietHours))
      return { kind: 'hold', reason: 'quiet_hours', until: endOfQuietHours(at, rules.quietHours) };
    if (delivery.smsSentToday >= rules.dailyCap) {
      return { kind: 'hold', reason: 'daily_cap', until: nextSwedishDayForSms(at, rules.quietHours) };
    }
  }
  return { kind: 'send', recipient: delivery.target };
}
