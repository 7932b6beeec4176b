import type { ApiDef, ChannelDef, LifecycleState } from './catalog.ts';
import { forbidden, unauthorized } from './errors.ts';

export type KeyType = 'PRODUCTION' | 'SANDBOX';

/** Who is connecting, taken from a verified access token. Stored with the connection. */
export interface Principal {
  issuer: string;
  subject: string;
  /** The OAuth2 client (application key) the token was issued to. */
  clientId: string;
  scopes: string[];
  tenant: string;
  keyType: KeyType;
  /** Epoch seconds. */
  expiresAt: number;
  /** The application, when the token names it (the built-in issuer does). */
  appId?: string;
  appName?: string;
}

/** A trusted token issuer: the built-in one, or Cognito, Auth0, Keycloak… by issuer + JWKS URL + audience. */
export interface IssuerConfig {
  issuer: string;
  jwksUri: string;
  /** What `aud` (or `client_id`, see `clientIdAsAudience`) must name: one of these. */
  audience: string | string[];
  /**
   * Accept a token without `aud` when its `client_id` is one of `audience` (default false). Cognito
   * client-credentials access tokens carry `client_id` and no `aud`; list the app client ids as
   * `audience`. When a token has `aud`, `aud` decides and `client_id` is not looked at: the rule of
   * API Gateway's JWT authorizer ("API Gateway validates client_id only if aud is not present").
   */
  clientIdAsAudience?: boolean;
  /**
   * The JWT header `typ` every token of this issuer must carry, compared as RFC 7515 §4.1.9 says
   * (case-insensitive, `application/` optional). The built-in issuer's is `at+jwt` (RFC 9068 §2.1), so an
   * ID token or any other JWT signed with its keys is no access token. Unset: `typ` is not checked
   * (Cognito's access tokens carry none).
   */
  typ?: string;
  /** Claim holding the client id (default `client_id`, then `azp`, then `sub`). */
  clientIdClaim?: string;
  /** Claim holding the tenant; when absent, `tenant` fixes it for every token of this issuer. */
  tenantClaim?: string;
  tenant?: string;
}

/** The JWT `typ` of an OAuth 2.0 access token (RFC 9068 §2.1): the built-in issuer's tokens carry it. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/**
 * The asymmetric algorithms real issuers sign with (Cognito RS256; Auth0, Okta, Keycloak, Entra ID also
 * RS384/RS512, PS*, ES256/ES384, EdDSA). The key an issuer's JWKS names decides which one a token may use
 * (jose matches `alg` to the key type and to the JWK's own `alg`). `none` and HMAC (`HS*`) are never
 * accepted: with an issuer's public key as the HMAC secret anyone could sign (algorithm confusion).
 */
export const ACCEPTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
] as const;

/**
 * Which claim names a token's audience: `client_id` only when the issuer takes it as one and the token
 * has no `aud` (API Gateway's JWT authorizer rule), else `aud`.
 */
export function audienceClaim(issuer: IssuerConfig, claims: { aud?: unknown }): 'aud' | 'client_id' {
  return issuer.clientIdAsAudience && claims.aud === undefined ? 'client_id' : 'aud';
}

/**
 * For a token whose audience is its `client_id` (see `audienceClaim`): the client must be one of the
 * issuer's audiences. Throws 401 naming what was wrong.
 */
export function requireClientIdAudience(issuer: IssuerConfig, clientId: unknown): void {
  if (clientId === undefined) throw unauthorized('the access token names no audience (aud or client_id)');
  const audiences = typeof issuer.audience === 'string' ? [issuer.audience] : issuer.audience;
  if (typeof clientId !== 'string' || !audiences.includes(clientId)) {
    throw unauthorized('the access token is not meant for this gateway (client_id)');
  }
}

/**
 * Cognito marks its tokens `token_use: access | id`; an ID token names the app client as `aud` too, so
 * with `audience` listing app clients it would pass as an access token. Refused when it says so.
 */
export function requireAccessTokenUse(tokenUse: unknown): void {
  if (tokenUse !== undefined && tokenUse !== 'access') {
    throw unauthorized('the access token is not an access token (token_use)');
  }
}

/**
 * A token may not be issued later than now plus the clock skew: `iat` in the future means a wrong
 * clock or a forged token (API Gateway's JWT authorizer also requires `iat` before now). Seconds.
 */
export function requireIssuedInPast(iat: unknown, nowSeconds: number, clockToleranceSeconds: number): void {
  if (typeof iat === 'number' && iat > nowSeconds + clockToleranceSeconds) {
    throw unauthorized(
      `the access token is issued in the future (iat), beyond the ${clockToleranceSeconds} s clock skew allowed`,
    );
  }
}

/**
 * The token a handshake carries: `Authorization: Bearer …` wins over `?access_token=…`
 * (browsers cannot set headers on a WebSocket, so they use the query).
 */
export function extractToken(
  headers: Record<string, string | undefined> | null | undefined,
  query: Record<string, string | undefined> | null | undefined,
): string | undefined {
  const authorization = headerValue(headers, 'authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <access token>"');
    return match[1];
  }
  const fromQuery = query?.access_token;
  if (fromQuery !== undefined) {
    if (fromQuery.trim() === '') throw unauthorized('the access_token query parameter is empty');
    return fromQuery.trim();
  }
  return undefined;
}

export function headerValue(
  headers: Record<string, string | undefined> | null | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** Scopes needed to connect to a channel: to receive when it is sub, else to publish. */
export function connectScopes(channel: ChannelDef): string[] {
  return channel.sub ? channel.subScopes : channel.pubScopes;
}

export function missingScopes(principal: Principal, required: readonly string[]): string[] {
  const held = new Set(principal.scopes);
  return required.filter((scope) => !held.has(scope));
}

export function requireScopes(principal: Principal, required: readonly string[], action: string): void {
  const missing = missingScopes(principal, required);
  if (missing.length) {
    throw forbidden(
      `the access token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(' ')} to ${action}`,
      {
        missingScopes: missing,
      },
    );
  }
}

/** The token's tenant must be the API's tenant: nothing of one tenant is reachable from another. */
export function requireTenant(principal: Principal, api: ApiDef): void {
  if (principal.tenant !== api.tenant) {
    throw forbidden(`the access token belongs to tenant ${principal.tenant}, not to ${api.tenant}`);
  }
}

/**
 * A key type reaches only an environment the API serves (WSO2: a SANDBOX key needs a sandbox
 * endpoint, a PRODUCTION key a production one). The API's `servers.production` / `servers.sandbox`
 * name the environments it serves, whatever its channels' backends are (fanout, handler and kafka
 * channels have no URL of their own, but the API still says which keys it takes). An API that names
 * neither serves PRODUCTION keys only. 403 otherwise, at the handshake and on every frame.
 */
export function requireKeyTypeServed(
  keyType: KeyType,
  api: Pick<ApiDef, 'name' | 'version' | 'endpoints'>,
): void {
  const { production, sandbox } = api.endpoints;
  const served =
    keyType === 'SANDBOX' ? sandbox !== undefined : production !== undefined || sandbox === undefined;
  if (!served) {
    const environment = keyType === 'SANDBOX' ? 'sandbox' : 'production';
    throw forbidden(
      `API ${api.name} ${api.version} has no ${environment} endpoint: ${keyType} keys are refused (use the application's ${keyType === 'SANDBOX' ? 'PRODUCTION' : 'SANDBOX'} keys)`,
    );
  }
}

/**
 * Whether an open connection may go on (WSO2 API lifecycle): PUBLISHED and DEPRECATED APIs serve
 * their existing connections ("existing subscribers can continue to use it"); BLOCKED ("runtime
 * calls are blocked"), RETIRED (undeployed) and CREATED do not, so the frame is refused with 403
 * and the gateway closes the connection.
 */
export function lifecycleServesConnections(state: LifecycleState): boolean {
  return state === 'PUBLISHED' || state === 'DEPRECATED';
}

/** Only PUBLISHED and DEPRECATED APIs take connections; others are refused as WSO2's gateway does. */
export function requireLifecycleAllowsConnect(api: ApiDef, state: LifecycleState = api.lifecycle): void {
  switch (state) {
    case 'PUBLISHED':
    case 'DEPRECATED':
      return;
    case 'BLOCKED':
      throw forbidden(`API ${api.name} ${api.version} is blocked`);
    default:
      throw forbidden(`API ${api.name} ${api.version} is ${state}, not published`);
  }
}
