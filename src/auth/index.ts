// The authentication component's interface: bearer tokens for /api, development tokens.
export {
  ADMIN_ROLE,
  adminOf,
  citizenOf,
  createAuthenticator,
  jwtSecretOf,
  signDevelopmentToken,
  type AdminIdentity,
  type AuthConfig,
  type Authenticator,
  type CitizenIdentity,
  type DevelopmentTokenKind,
} from './authenticator.js';
export { readOrCreateSecretFile } from './secret-file.js';
