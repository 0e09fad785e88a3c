// JSON errors for the HTTP API (CONTRACT §4): `{ "error": { "code", "message" } }` with the usual status.
// Routes throw HttpError (or call sendError); jsonErrorHandler turns anything thrown into that shape.
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { errorForLog, type Logger } from '../logging.js';

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

/**
 * A request that is malformed, as opposed to a fault of ours: the status and a code to answer with.
 * body-parser's errors (too large, bad JSON, unknown charset or encoding) and the router's failed
 * percent-decoding of a path parameter carry a 4xx status; their messages may quote the input, so only
 * the status and the kind are used.
 */
export function clientErrorOf(error: unknown): { status: number; code: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, status, statusCode } = error as BodyParserError & { statusCode?: unknown };
  if (type === 'entity.parse.failed') return { status: 400, code: 'invalid_json' };
  if (type === 'entity.too.large') return { status: 413, code: 'payload_too_large' };
  if (type === 'charset.unsupported' || type === 'encoding.unsupported')
    return { status: 415, code: 'unsupported_media_type' };
  const given = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : undefined;
  if (error instanceof URIError) return { status: 400, code: 'invalid_path' };
  if (given !== undefined && given >= 400 && given < 500) return { status: given, code: 'bad_request' };
  return undefined;
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
    const client = clientErrorOf(error);
    if (client) {
      const message =
        client.code === 'invalid_json'
          ? 'The request body is not valid JSON'
          : client.code === 'payload_too_large'
            ? 'The request body is too large'
            : client.code === 'invalid_path'
              ? 'The path could not be decoded (a bad percent-escape)'
              : client.code === 'unsupported_media_type'
                ? "The request body's charset or encoding is not supported"
                : 'Bad request';
      sendError(res, client.status, client.code, message);
      return;
    }
    log?.error(
      {
        err: error instanceof Error ? errorForLog(error) : { name: typeof error },
        method: req.method,
        path: req.baseUrl + req.path,
      },
      'API request failed',
    );
    sendError(res, 500, 'internal_error', 'Something went wrong on our side; the error is logged');
  };
}
