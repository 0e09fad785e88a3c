// Twilio's delivery reports: `POST /channels/twilio/status` (the statusCallback we give with every SMS,
// carrying `?delivery=<reference>`). The X-Twilio-Signature is checked with the SDK's own validateRequest
// against the public URL Twilio called (TWILIO_STATUS_CALLBACK_URL, else the request's own URL); unsigned
// or wrongly signed reports are refused with 403 and change nothing.
import { sql } from 'drizzle-orm';
import express, { type Request, type Router } from 'express';
import twilio from 'twilio';
import { rows, type Database } from '../../../db/index.js';
import { sendError } from '../../../http/index.js';
import type { Logger } from '../../../logging.js';
import { mapTwilioStatus } from './sms.js';
import type { ProviderStatus } from '../types.js';
import { movesOn } from '../../schema.js';
import { deliveryIdOf, instant } from '../../sender/index.js';

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
    const [delivery] = await rows<{ id: number; status: string }>(
      deps.database.orm,
      sql`select id, status from notification_delivery
           where channel = 'sms' and (provider_id = ${sid} or (provider_id is null and id = ${deliveryId ?? -1}))
           order by (provider_id = ${sid}) desc nulls last limit 1`,
    );
    if (!delivery) {
      deps.log.warn({ status }, 'Twilio status report for no delivery of ours');
      res.status(204).end();
      return;
    }
    const id = Number(delivery.id);
    // Reports may arrive out of order (Twilio sends them concurrently): never step back.
    if (movesOn(status, delivery.status)) {
      await deps.database.orm.execute(
        sql`update notification_delivery
               set doubt_settled_by =
                     case when status in ('in_doubt', 'unknown') then 'reported' else doubt_settled_by end,
                   status = ${status}, provider_status = ${twilioStatus}, provider_id = coalesce(provider_id, ${sid}),
                   last_error = coalesce(${errorCode}, last_error), updated_at = ${instant(now())},
                   lease_owner = null, lease_until = null
             where id = ${id}`,
      );
      deps.log.info({ delivery: id, status, code: errorCode ?? undefined }, 'SMS status reported by Twilio');
    } else {
      deps.log.debug({ delivery: id, status, current: delivery.status }, 'older Twilio status report ignored');
    }
    res.status(204).end();
  });
  return router;
}
