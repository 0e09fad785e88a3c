// What every page shares: the html escaping tag, the page frame, sessions (web_session), OpenID Connect
// sign-in, the masked Swedish error page, the start and information pages.
export { html, postButton, tableHead, tableRow, type SafeHtml } from './html.js';
export { pageFrame } from './page-frame.js';
export { type AdminOidc, type CitizenOidc, createAdminOidc, createCitizenOidc, SignInError } from './oidc.js';
export { createSessionManager, type SessionManager, sessionOf, sessionOptionsOf, sessionSecretOf } from './session.js';
export { htmlErrorHandler } from './error-page.js';
export { mountStartPage, swedishNotFound } from './start-page.js';
export { infoPagesRouter } from './info-pages.js';
export {
  adminErrors,
  adminList,
  adminSecurity,
  citizenErrors,
  citizenSecurity,
  composeOpenApi,
  environmentQuery,
  error,
  json,
  jsonBody,
  listOf,
  nullable,
  numericIdPath,
  ref,
  serveOpenApi,
  type OpenApiDocument,
  type OpenApiFragment,
  type Schema,
} from './openapi.js';
