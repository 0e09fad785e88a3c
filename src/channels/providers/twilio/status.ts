// Twilio's delivery reports: `POST /channels/twilio/status` (the statusCallback we give with every SMS,
// carrying `?delivery=<reference>`). The X-Twilio-Signature is checked with the SDK's own validateRequest
// against the public URL Twilio called (TWILIO_STATUS_CALLBACK_URL, else the request's own URL); unsigned
// or wrongly signed reports are refused with 403 and change nothing.
import { and, eq, isNull, or, sql } from 'drizzle-orm';
import express, { type Request, type Router } from 'express';
import twilio from 'twilio';
import type { Database } from '../../../db/index.js';
import { sendError } from '../../../http/index.js';
import type { Logger } from '../../../logging.js';
import { mapTwilioStatus } from './sms.js';
import type { ProviderStatus } from '../types.js';
import { movesOn, notificationDeliveries as d } from '../../schema.js';
import { deliveryIdOf } from '../../sender/index.js';

export const TWILIO_STATUS_PATH = '/channels/twilio/status';

export interface TwilioStatusDependencies {
  database: Database;
  log: Logger;
  authToken: string;
  /** The public URL Twilio calls (without query); undefined: reconstructed from the request. */
  publicUrl?: string | undefined;
  now?: () => Date;
}

function urlTwilioCalled(req: Request, publicUrl: string | undefined): string {
  const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
  if (publicUrl !== undefined) {
    const base = new URL(publicUrl);
    return `${base.origin}${base.pathname}${query}`;
  }
  return `${req.protocol}://${req.get('host') ?? ''}${req.originalUrl}`;
}

export function twilioStatusRouter(deps: TwilioStatusDependencies): Router {
  const router = express.Router();
  const now = deps.now ?? (() => new Date());
  router.post(TWILIO_STATUS_PATH, express.urlencoded({ extended: false, limit: '16kb' }), async (req, res) => {
    const signature = req.get('x-twilio-signature');
    const params = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, string>;
    if (
      !signature ||
      !twilio.validateRequest(deps.authToken, signature, urlTwilioCalled(req, deps.publicUrl), params)
    ) {
      deps.log.warn({ signed: Boolean(signature) }, 'Twilio status report refused: signature missing or wrong');
      sendError(res, 403, 'invalid_signature', 'The X-Twilio-Signature is missing or does not match');
      return;
    }
    const sid = typeof params.MessageSid === 'string' ? params.MessageSid : undefined;
    const twilioStatus = typeof params.MessageStatus === 'string' ? params.MessageStatus : '';
    const status: ProviderStatus | undefined = mapTwilioStatus(twilioStatus);
    const reference = typeof req.query.delivery === 'string' ? req.query.delivery : undefined;
    const deliveryId = reference !== undefined ? deliveryIdOf(reference) : undefined;
    if (!sid || !status) {
      // Signed but nothing we track (e.g. `receiving`): acknowledged so that Twilio does not retry.
      res.status(204).end();
      return;
    }
    const errorCode =
      typeof params.ErrorCode === 'string' && /^[0-9]{1,8}$/.test(params.ErrorCode)
        ? `twilio_${params.ErrorCode}`
        : null;
    const [delivery] = await deps.database.orm
      .select({ id: d.id, status: d.status })
      .from(d)
      .where(
        and(
          sql`${d.channel} = 'sms'`,
          or(eq(d.providerId, sid), and(isNull(d.providerId), eq(d.id, deliveryId ?? -1))),
        ),
      )
      .orderBy(sql`(${d.providerId} = ${sid}) desc nulls last`)
      .limit(1);
    if (!delivery) {
      deps.log.warn({ status }, 'Twilio status report for no delivery of ours');
      res.status(204).end();
      return;
    }
    const id = delivery.id;
    // Reports may arrive out of order (Twilio sends them concurrently): never step back.
    if (movesOn(status, delivery.status)) {
      await deps.database.orm
        .update(d)
        .set({
          doubtSettledBy: sql`case when ${d.status} in ('in_doubt', 'unknown') then 'reported'
                              else ${d.doubtSettledBy} end`,
          status,
          providerStatus: twilioStatus,
          providerId: sql`coalesce(${d.providerId}, ${sid})`,
          lastError: sql`coalesce(${errorCode}, ${d.lastError})`,
          updatedAt: now(),
          leaseOwner: null,
          leaseUntil: null,
        })
        .where(eq(d.id, id));
      deps.log.info({ delivery: id, status, code: errorCode ?? undefined }, 'SMS status reported by Twilio');
    } else {
      deps.log.debug({ delivery: id, status, current: delivery.status }, 'older Twilio status report ignored');
    }
    res.status(204).end();
  });
  return router;
}
