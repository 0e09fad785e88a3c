// One correlation id per HTTP request, on every log line written for it, and one access log line per
// request. The id is the platform's x-skltp-correlation-id when it sends a usable one, otherwise a new
// UUID; it is echoed as x-correlation-id.
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { logSafe, type Logger } from '../logging.js';

/** What the platform may send as its correlation id; anything else gets an id of our own. */
const USABLE_ID = /^[A-Za-z0-9._:\-]{1,128}$/;

export interface RequestLocals {
  correlationId: string;
  /** The app's logger bound to this request's correlation id. */
  log: Logger;
}

export function requestLocals(res: Response): RequestLocals | undefined {
  const locals = res.locals as Partial<RequestLocals>;
  return locals.correlationId && locals.log ? (locals as RequestLocals) : undefined;
}

export function requestLogging(log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const platformId = req.get('x-skltp-correlation-id');
    const correlationId = platformId !== undefined && USABLE_ID.test(platformId) ? platformId : randomUUID();
    // Bindings of a child bypass the masking hook: the id comes from outside, so it is masked here.
    const child = log.child({ correlationId: logSafe(correlationId) });
    Object.assign(res.locals, { correlationId, log: child } satisfies RequestLocals);
    res.setHeader('x-correlation-id', correlationId);
    const started = performance.now();
    res.once('finish', () => {
      child.info(
        {
          http: {
            method: req.method,
            // The path only: query strings (and the citizen pages' forms) may carry personal data.
            path: logSafe(req.path),
            status: res.statusCode,
            ms: Math.round(performance.now() - started),
            bytesIn: Number(req.get('content-length') ?? 0),
            tls: req.socket && 'encrypted' in req.socket ? true : undefined,
          },
        },
        'http request',
      );
    });
    next();
  };
}
