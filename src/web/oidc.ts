// Sign-in to the pages with OpenID Connect (authorization code flow with PKCE and a nonce), using
// openid-client: citizens to /inbox behind the 1177 identity provider (which claim carries the personal
// identity number is configured: OIDC_PERSONAL_NUMBER_CLAIM, default `sub`), and national administrators
// to /admin behind their organisation's provider (the `national-admin` role in a configured claim,
// ADMIN_OIDC_ROLE_CLAIM, default `roles`). Claims are read from the ID token and, when the provider
// releases them only there, from the userinfo endpoint.
//
// The values of a sign-in in progress (state, nonce, PKCE verifier, redirect URI) are kept in the session
// cookie by the caller (SessionManager.setPending), never in server memory, so any process can finish it.
import * as client from 'openid-client';

export interface OidcClientSettings {
  issuer: string;
  clientId: string;
  /** Unset: a public client (PKCE only, no client authentication). */
  clientSecret: string | undefined;
}

export interface OidcSettings extends OidcClientSettings {
  personalNumberClaim: string;
}

/** The claims of a finished sign-in: the ID token's, and (on demand) the userinfo endpoint's. */
export interface SignedInClaims {
  idToken: Readonly<Record<string, unknown>>;
  /** The ID token's claim, or the userinfo endpoint's when the ID token lacks it. */
  claim(name: string): Promise<unknown>;
}

export interface OidcClient {
  start(redirectUri: string): Promise<{ authorizationUrl: URL; pending: PendingSignIn }>;
  finish(callbackQuery: string, pending: Readonly<Record<string, string>>): Promise<SignedInClaims>;
}

/** Values to keep in the session between start and finish. */
export interface PendingSignIn {
  oidcState: string;
  oidcNonce: string;
  oidcVerifier: string;
  oidcRedirectUri: string;
}

export type SignInFailure =
  /** The citizen cancelled or the provider refused (`error=...` on the callback). */
  | 'denied'
  /** The callback does not belong to a sign-in started in this session (state missing or different). */
  | 'no_sign_in_in_progress'
  /** The provider's answer did not pass the checks (signature, nonce, PKCE, issuer...). */
  | 'invalid_response'
  /** The claim is missing or is not a 12-digit personal identity number. */
  | 'no_personal_number'
  /** The administrator's role claim does not hold the national-admin role. */
  | 'not_an_administrator'
  /** The provider could not be reached. */
  | 'provider_unavailable';

export class SignInError extends Error {
  override name = 'SignInError';
  constructor(
    readonly reason: SignInFailure,
    message: string,
    /** The provider's error code on `denied` (e.g. access_denied); safe to log. */
    readonly providerError?: string,
  ) {
    super(message);
  }
}

export interface CitizenOidc {
  /** Where to send the browser, and what to keep in the session until the callback. */
  start(redirectUri: string): Promise<{ authorizationUrl: URL; pending: PendingSignIn }>;
  /**
   * Checks the provider's callback (`callbackQuery`: the query string, with or without `?`) and answers whose it
   * is.
   */
  finish(
    callbackQuery: string,
    pending: Readonly<Record<string, string>>,
  ): Promise<{ personalNumber: string; name?: string }>;
}

const PERSONAL_NUMBER = /^\d{12}$/;
export const MAX_DISPLAY_NAME_LENGTH = 100;

/** The citizen's name for the page header (`name`, else `given_name family_name`); never a number. */
export function displayNameOf(claims: Readonly<Record<string, unknown>>): string | undefined {
  // Cut before any regular expression sees the value.
  const part = (value: unknown) =>
    typeof value === 'string'
      ? value
          .slice(0, MAX_DISPLAY_NAME_LENGTH)
          .replace(/[\u0000-\u001f\u007f]/g, '')
          .trim()
      : '';
  const name = (
    part(claims.name) || [part(claims.given_name), part(claims.family_name)].filter(Boolean).join(' ')
  ).slice(0, MAX_DISPLAY_NAME_LENGTH);
  return name === '' || /\d{6}/.test(name) ? undefined : name;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const TIMEOUT_SECONDS = 10;

/** Plain HTTP is accepted only for a provider on this machine (development and tests). */
function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK.has(url.hostname);
}

function clientAuthentication(metadata: client.ServerMetadata, secret: string | undefined): client.ClientAuth {
  if (secret === undefined) return client.None();
  // client_secret_basic is the method every provider must support (RFC 6749 §2.3.1); post when it is the only one.
  const supported = metadata.token_endpoint_auth_methods_supported;
  if (supported && !supported.includes('client_secret_basic') && supported.includes('client_secret_post')) {
    return client.ClientSecretPost(secret);
  }
  return client.ClientSecretBasic(secret);
}

/** The personal identity number in a claim; providers send it as text, some with a hyphen. */
export function personalNumberOf(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const digits = String(value)
    .trim()
    .replace(/^(\d{8})-(\d{4})$/, '$1$2');
  return PERSONAL_NUMBER.test(digits) ? digits : undefined;
}

export function createOidcClient(settings: OidcClientSettings): OidcClient {
  const issuer = new URL(settings.issuer);
  if (issuer.protocol !== 'https:' && !isLoopbackHttp(issuer)) {
    throw new TypeError('OIDC_ISSUER must be an https URL (plain http only on localhost)');
  }
  let configuration: Promise<client.Configuration> | undefined;

  // Discovered once, lazily; a failed discovery is tried again on the next sign-in.
  function discovered(): Promise<client.Configuration> {
    configuration ??= (async () => {
      const insecure = isLoopbackHttp(issuer) ? { execute: [client.allowInsecureRequests] } : {};
      const found = await client.discovery(issuer, settings.clientId, undefined, undefined, {
        timeout: TIMEOUT_SECONDS,
        ...insecure,
      });
      const metadata = found.serverMetadata();
      const config = new client.Configuration(
        metadata,
        settings.clientId,
        settings.clientSecret,
        clientAuthentication(metadata, settings.clientSecret),
      );
      config.timeout = TIMEOUT_SECONDS;
      if (isLoopbackHttp(issuer)) client.allowInsecureRequests(config);
      return config;
    })().catch((error: unknown) => {
      configuration = undefined;
      throw new SignInError('provider_unavailable', `OpenID provider discovery failed: ${(error as Error).message}`);
    });
    return configuration;
  }

  return {
    async start(redirectUri) {
      const config = await discovered();
      const pending: PendingSignIn = {
        oidcState: client.randomState(),
        oidcNonce: client.randomNonce(),
        oidcVerifier: client.randomPKCECodeVerifier(),
        oidcRedirectUri: redirectUri,
      };
      const authorizationUrl = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid',
        response_type: 'code',
        state: pending.oidcState,
        nonce: pending.oidcNonce,
        code_challenge: await client.calculatePKCECodeChallenge(pending.oidcVerifier),
        code_challenge_method: 'S256',
      });
      return { authorizationUrl, pending };
    },

    async finish(callbackQuery, pending) {
      const params = new URLSearchParams(callbackQuery.replace(/^\?/, ''));
      const { oidcState, oidcNonce, oidcVerifier, oidcRedirectUri } = pending;
      if (!oidcState || !oidcNonce || !oidcVerifier || !oidcRedirectUri || params.get('state') !== oidcState) {
        throw new SignInError(
          'no_sign_in_in_progress',
          'The callback does not match a sign-in started in this session',
        );
      }
      const providerError = params.get('error');
      if (providerError !== null) {
        throw new SignInError('denied', 'The OpenID provider did not sign the citizen in', providerError.slice(0, 64));
      }
      const config = await discovered();
      // The redirect URI sent to the token endpoint is taken from this URL: the one used at start.
      const currentUrl = new URL(oidcRedirectUri);
      currentUrl.search = params.toString();
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, currentUrl, {
          pkceCodeVerifier: oidcVerifier,
          expectedState: oidcState,
          expectedNonce: oidcNonce,
          idTokenExpected: true,
        });
      } catch (error) {
        if (
          error instanceof client.ClientError ||
          error instanceof client.ResponseBodyError ||
          error instanceof client.AuthorizationResponseError
        ) {
          throw new SignInError('invalid_response', `The OpenID provider's answer was refused: ${error.message}`);
        }
        throw new SignInError(
          'provider_unavailable',
          `The OpenID provider's token endpoint failed: ${(error as Error).message}`,
        );
      }
      const claims = tokens.claims();
      if (!claims) throw new SignInError('invalid_response', 'The token response has no ID token');
      let userinfo: Promise<Record<string, unknown>> | undefined;
      return {
        idToken: claims,
        async claim(name) {
          if (claims[name] !== undefined) return claims[name];
          userinfo ??= client.fetchUserInfo(config, tokens.access_token, claims.sub).catch((error: unknown) => {
            throw new SignInError(
              'provider_unavailable',
              `The OpenID provider's userinfo failed: ${(error as Error).message}`,
            );
          });
          return (await userinfo)[name];
        },
      };
    },
  };
}

export function createCitizenOidc(settings: OidcSettings): CitizenOidc {
  const oidc = createOidcClient(settings);
  return {
    start: (redirectUri) => oidc.start(redirectUri),
    async finish(callbackQuery, pending) {
      const signedIn = await oidc.finish(callbackQuery, pending);
      // `sub` is in every ID token; another claim may be released only at userinfo.
      const personalNumber = personalNumberOf(
        settings.personalNumberClaim === 'sub'
          ? signedIn.idToken.sub
          : await signedIn.claim(settings.personalNumberClaim),
      );
      if (personalNumber === undefined) {
        throw new SignInError(
          'no_personal_number',
          `The claim "${settings.personalNumberClaim}" holds no personal identity number`,
        );
      }
      const name = displayNameOf(signedIn.idToken);
      return name === undefined ? { personalNumber } : { personalNumber, name };
    },
  };
}

export interface AdminOidcSettings extends OidcClientSettings {
  /** The claim listing the administrator's roles (ADMIN_OIDC_ROLE_CLAIM). */
  roleClaim: string;
  /** The role that makes a national administrator. */
  role: string;
  /** The further role that allows tracing by personal identity number (in the same claim). */
  supportRole?: string;
}

export interface AdminOidc {
  start(redirectUri: string): Promise<{ authorizationUrl: URL; pending: PendingSignIn }>;
  /** The administrator's name for the audit log; refuses anyone without the role. */
  finish(callbackQuery: string, pending: Readonly<Record<string, string>>): Promise<{ name: string; support: boolean }>;
}

/** Whether a role claim holds `role`: a list, or one text of roles separated by blanks or commas. */
export function claimHoldsRole(value: unknown, role: string): boolean {
  if (typeof value === 'string')
    return value
      .slice(0, 4096)
      .split(/[\s,]+/)
      .includes(role);
  return Array.isArray(value) && value.includes(role);
}

export function createAdminOidc(settings: AdminOidcSettings): AdminOidc {
  const oidc = createOidcClient(settings);
  return {
    start: (redirectUri) => oidc.start(redirectUri),
    async finish(callbackQuery, pending) {
      const signedIn = await oidc.finish(callbackQuery, pending);
      const roles = await signedIn.claim(settings.roleClaim);
      if (!claimHoldsRole(roles, settings.role)) {
        throw new SignInError(
          'not_an_administrator',
          `The claim "${settings.roleClaim}" does not hold the role "${settings.role}"`,
        );
      }
      let name: string | undefined;
      for (const claim of ['name', 'preferred_username', 'sub']) {
        const value = await signedIn.claim(claim);
        if (typeof value === 'string' && value.trim() !== '') {
          name = value.trim().slice(0, 100);
          break;
        }
      }
      return {
        name: name ?? 'okänd administratör',
        support: settings.supportRole !== undefined && claimHoldsRole(roles, settings.supportRole),
      };
    },
  };
}
