// The authentication component's interface: bearer tokens for /api, development tokens.
export {
  ADMIN_ROLE,
  adminOf,
  citizenOf,
  createAuthenticator,
  jwtSecretOf,
  signDevelopmentToken,
  SUPPORT_ROLE,
  type AdminIdentity,
  type AuthConfig,
  type Authenticator,
  type CitizenIdentity,
  type DevelopmentTokenKind,
} from './authenticator.js';
export { readOrCreateSecretFile } from './secret-file.js';
