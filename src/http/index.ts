// What every HTTP route shares: JSON errors (HttpError, the /api error handler and 404) and the public
// base URL of the service as EI and browsers see it.
export { clientErrorOf, HttpError, jsonErrorHandler, jsonNotFound, sendError } from './errors.js';
export { escapeXmlAttribute, publicBaseUrlOf } from './public-url.js';
