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
  audience: string | string[];
  /** Claim holding the client id (default `client_id`, then `azp`, then `sub`). */
  clientIdClaim?: string;
  /** Claim holding the tenant; when absent, `tenant` fixes it for every token of this issuer. */
  tenantClaim?: string;
  tenant?: string;
}

/** Only asymmetric algorithms: `none` and HMAC (algorithm confusion with a public key) never verify. */
export const ACCEPTED_ALGORITHMS = ['RS256', 'ES256'] as const;

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
