// The Swedish error page of every HTML route, and the error handler that sends it. Nothing of the
// error reaches the browser (no stack, no SQL, no parameters, no value from the request), and the log
// gets the error's name and masked first line only (a failed query without its SQL and parameters,
// see errorForLog). Malformed input is the caller's fault and gets its 4xx: a bad percent-escape in the
// path 400, a form too large 413, an unknown charset or encoding 415.
// For other pages: `errorPage(404)` renders the page, `sendErrorPage(res, 404)` sends it.
import type { ErrorRequestHandler, Response } from 'express';
import { clientErrorOf } from '../http/index.js';
import { errorForLog, type Logger } from '../logging.js';
import { pageFrame } from './page-frame.js';
import { html, type SafeHtml } from './html.js';

interface ErrorText {
  title: string;
  text: string;
}

const TEXTS: Record<number, ErrorText> = {
  400: {
    title: 'Felaktig förfrågan',
    text: 'Adressen eller formuläret kunde inte läsas. Kontrollera adressen, eller gå tillbaka och försök igen.',
  },
  403: { title: 'Åtkomst nekad', text: 'Du har inte behörighet till den här sidan.' },
  404: { title: 'Sidan finns inte', text: 'Sidan du söker finns inte, eller har flyttats. Kontrollera adressen.' },
  405: { title: 'Otillåten förfrågan', text: 'Sidan kan inte användas på det sättet.' },
  413: {
    title: 'För mycket innehåll',
    text: 'Formuläret innehöll mer än vad som kan tas emot. Korta texten och försök igen.',
  },
  415: { title: 'Formatet stöds inte', text: 'Formuläret skickades i ett format som inte kan tas emot.' },
  500: { title: 'Något gick fel', text: 'Ett fel uppstod hos oss. Felet är loggat. Försök igen om en stund.' },
  503: {
    title: 'Tjänsten är inte tillgänglig',
    text: 'Tjänsten är tillfälligt otillgänglig. Försök igen om en stund.',
  },
};

function textOf(status: number): ErrorText {
  return TEXTS[status] ?? (status >= 500 ? TEXTS[500]! : TEXTS[400]!);
}

/** A complete Swedish error page for this status; `extra` (built with `html`) goes under the text. */
export function errorPage(status: number, extra?: SafeHtml): string {
  const { title, text } = textOf(status);
  return pageFrame({
    title,
    service: 'Inkorgen',
    home: '/',
    main: html`<h1>${title}</h1>
<p>${text}</p>
${extra}
<p><a href="/">Till startsidan</a></p>`,
  });
}

/** Sends the error page with the pages' security headers; never cached. */
export function sendErrorPage(res: Response, status: number, extra?: SafeHtml): void {
  res
    .status(status)
    .set('Cache-Control', 'no-store')
    .set(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    )
    .set('X-Content-Type-Options', 'nosniff')
    .type('html')
    .send(errorPage(status, extra));
}

/** Error middleware for HTML routes: the masked Swedish page with the right status. */
export function htmlErrorHandler(log: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const client = clientErrorOf(error);
    const path = req.baseUrl + req.path;
    if (client) {
      log.info({ status: client.status, reason: client.code, method: req.method, path }, 'page request refused');
      sendErrorPage(res, client.status);
      return;
    }
    log.error(
      { err: error instanceof Error ? errorForLog(error) : { name: typeof error }, method: req.method, path },
      'page request failed',
    );
    sendErrorPage(res, 500);
  };
}
