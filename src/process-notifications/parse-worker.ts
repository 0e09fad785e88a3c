// An ingest thread (parse-pool.ts): takes a call's raw body, decodes it (strict UTF-8), reads and
// prepares it (prepare.ts), and hands the result back. Holds no state between calls.
import { parentPort } from 'node:worker_threads';
import { EnvelopeError } from './envelope-parser.js';
import { prepareNotification } from './prepare.js';
import type { ParseReply, ParseRequest } from './parse-pool.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

parentPort?.on('message', (request: ParseRequest) => {
  let reply: ParseReply;
  try {
    let xml: string;
    try {
      xml = utf8.decode(request.body);
    } catch {
      throw new EnvelopeError('The message is not valid UTF-8');
    }
    reply = { id: request.id, ok: true, notification: prepareNotification(xml) };
  } catch (error) {
    reply =
      error instanceof EnvelopeError
        ? { id: request.id, ok: false, envelope: { message: error.message, faultcode: error.faultcode } }
        : // Never the error's text: it may quote the body. The pool answers soap:Server (EI retries).
          { id: request.id, ok: false };
  }
  parentPort!.postMessage(reply);
});
