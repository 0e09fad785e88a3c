// JSON errors for the HTTP API (CONTRACT §4): `{ "error": { "code", "message" } }` with the usual status.
// Routes throw HttpError (or call sendError); jsonErrorHandler turns anything thrown into that shape.
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from '../logging.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Optional machine-readable detail, e.g. which fields were wrong. */
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function sendError(res: Response, status: number, code: string, message: string, details?: unknown): void {
  const body: ErrorBody = { error: { code, message } };
  if (details !== undefined) body.error.details = details;
  res.status(status).json(body);
}

/** For the end of an API router: a path nobody answered is a JSON 404, not express's HTML page. */
export const jsonNotFound: RequestHandler = (req, res) => {
  sendError(res, 404, 'not_found', `No such resource: ${req.method} ${req.baseUrl}${req.path}`);
};

// What express's body parser (body-parser) attaches to the errors it raises.
interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

/** Error middleware for API routers: HttpError as given, body-parser errors as 400/413, the rest as 500. */
export function jsonErrorHandler(log?: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (error instanceof HttpError) {
      sendError(res, error.status, error.code, error.message, error.details);
      return;
    }
    const parserError = (typeof error === 'object' && error !== null ? error : {}) as BodyParserError;
    if (parserError.type === 'entity.parse.failed') {
      sendError(res, 400, 'invalid_json', 'The request body is not valid JSON');
      return;
    }
    if (parserError.type === 'entity.too.large') {
      sendError(res, 413, 'payload_too_large', 'The request body is too large');
      return;
    }
    if (parserError.expose === true && typeof parserError.status === 'number' && parserError.status < 500) {
      sendError(res, parserError.status, 'bad_request', error instanceof Error ? error.message : 'Bad request');
      return;
    }
    log?.error({ err: error, method: req.method, path: req.baseUrl + req.path }, 'API request failed');
    sendError(res, 500, 'internal_error', 'Something went wrong on our side; the error is logged');
  };
}
