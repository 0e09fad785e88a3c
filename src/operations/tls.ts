// HTTPS for the service (TLS_CERT / TLS_KEY) and client certificates for the SOAP endpoint
// (TLS_CLIENT_CA, TLS_ALLOWED_CLIENTS). The TLS layer asks every client for a certificate but lets
// connections without one through, because the citizen pages and the admin API on the same port are
// used from browsers; the SOAP endpoint then refuses a call whose certificate is missing, not signed
// by TLS_CLIENT_CA, or whose subject CN is not in TLS_ALLOWED_CLIENTS.
import fs from 'node:fs';
import type { ServerOptions } from 'node:https';
import { TLSSocket } from 'node:tls';
import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../logging.js';

export function httpsOptionsOf(tls: Config['tls']): ServerOptions | undefined {
  // loadConfig has checked that the certificate and key come together, that a client CA has them, and that
  // each file is readable.
  if (!tls.cert || !tls.key) return undefined;
  return {
    cert: fs.readFileSync(tls.cert),
    key: fs.readFileSync(tls.key),
    ...(tls.clientCa ? { ca: fs.readFileSync(tls.clientCa), requestCert: true, rejectUnauthorized: false } : {}),
    minVersion: 'TLSv1.2',
  };
}

export type CertificateRefusal = 'no-certificate' | 'not-allowed';

/**
 * Lets a request through only with a client certificate signed by TLS_CLIENT_CA whose subject CN is in
 * `allowedClients` (any CN when the list is empty). Requests that did not come over TLS are refused too.
 */
export function requireClientCertificate(deps: {
  allowedClients: readonly string[];
  log: Logger;
  onRefused?: (reason: CertificateRefusal) => void;
}) {
  const allowed = new Set(deps.allowedClients);
  return (req: Request, res: Response, next: NextFunction): void => {
    const socket = req.socket;
    let reason: CertificateRefusal | undefined;
    let subject: string | undefined;
    if (!(socket instanceof TLSSocket) || !socket.authorized) {
      reason = 'no-certificate';
    } else {
      const cn = socket.getPeerCertificate().subject?.CN;
      subject = Array.isArray(cn) ? cn.join(',') : cn;
      if (allowed.size > 0 && (subject === undefined || !allowed.has(subject))) reason = 'not-allowed';
    }
    if (reason === undefined) return next();
    const why =
      reason === 'no-certificate'
        ? socket instanceof TLSSocket && socket.authorizationError
          ? `client certificate not accepted (${String(socket.authorizationError)})`
          : 'no client certificate'
        : `client certificate subject ${subject ?? '(none)'} is not allowed`;
    deps.log.warn(
      { correlationId: res.locals.correlationId as unknown, reason, detail: why },
      'call refused: client certificate',
    );
    deps.onRefused?.(reason);
    // A SOAP 1.1 fault, so that the platform logs a readable reason; 403 says it is not worth retrying.
    res
      .status(403)
      .type('text/xml; charset=utf-8')
      .send(
        '<?xml version="1.0" encoding="UTF-8"?>' +
          '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
          '<soap:Fault><faultcode>soap:Client</faultcode>' +
          `<faultstring>Forbidden: ${why.replace(/[<&>]/g, '')}</faultstring></soap:Fault>` +
          '</soap:Body></soap:Envelope>',
      );
  };
}
