// Where callers reach this service, for the URLs it hands out (the WSDL's soap:address and schema
// locations). PUBLIC_BASE_URL says it; without it (development), the request's Host header is used only
// when it is a plain host name or address with an optional port, and `localhost` otherwise, so that a
// forged Host never comes back as markup or as a link elsewhere.
import type { Request } from 'express';

const PLAIN_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/** The Host header when it is a plain host[:port], else undefined (never used as given otherwise). */
export function plainHost(host: string | undefined): string | undefined {
  return host !== undefined && host.length <= 260 && PLAIN_HOST.test(host) ? host : undefined;
}

/** PUBLIC_BASE_URL, or (unset) this request's scheme and plain Host; no trailing slash. */
export function publicBaseUrlOf(req: Request, configured: string | undefined): string {
  if (configured !== undefined) return configured;
  return `${req.protocol}://${plainHost(req.get('host')) ?? 'localhost'}`;
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text for an XML attribute value. */
export function escapeXmlAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (character) => XML_ESCAPES[character]!);
}
