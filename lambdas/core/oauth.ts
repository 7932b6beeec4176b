/**
 * The OAuth2 token request (RFC 6749 §4.4, client credentials) and its errors (§5.2).
 */
import { MAX_CLIENT_ID_LENGTH, MAX_CLIENT_SECRET_LENGTH, plausibleClientCredentials } from './credentials.ts';

/** The largest token request body taken (bytes); a real one is under 300. */
export const MAX_TOKEN_REQUEST_BYTES = 8_192;
/** The longest `scope` parameter taken (characters). */
export const MAX_SCOPE_LENGTH = 1_024;
/** RFC 6749 §3.3: a scope token is NQCHAR (printable ASCII but `"` and `\`); tokens are space-separated. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unauthorized_client'
  | 'temporarily_unavailable';

export class OAuthError extends Error {
  readonly status: number;
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    /** invalid_client after HTTP Basic answers 401 with a challenge. */
    readonly basicChallenge = false,
  ) {
    super(description);
    this.name = 'OAuthError';
    this.status = error === 'invalid_client' ? 401 : error === 'temporarily_unavailable' ? 503 : 400;
  }
}

export interface TokenRequest {
  grantType: string;
  clientId: string;
  clientSecret: string;
  authMethod: 'client_secret_basic' | 'client_secret_post';
  /** Requested scopes; empty when the request named none. */
  scopes: string[];
}

/**
 * A token request's parameters and client authentication, checked in this order: content type,
 * size, repeated parameters, grant type (invalid_request, unsupported_grant_type), client
 * credentials (invalid_client, or invalid_request when they cannot be credentials at all), scope
 * (invalid_scope). Unknown parameters are ignored (RFC 6749 §3.2).
 * @throws OAuthError
 */
export function parseTokenRequest(
  body: string,
  contentType: string | undefined,
  authorization: string | undefined,
): TokenRequest {
  if (contentType && !contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw new OAuthError('invalid_request', 'the token request must be application/x-www-form-urlencoded');
  }
  if (Buffer.byteLength(body) > MAX_TOKEN_REQUEST_BYTES)
    throw new OAuthError(
      'invalid_request',
      `the token request is larger than ${MAX_TOKEN_REQUEST_BYTES} bytes`,
    );
  const form = new URLSearchParams(body);
  for (const name of ['grant_type', 'scope', 'client_id', 'client_secret']) {
    if (form.getAll(name).length > 1) throw new OAuthError('invalid_request', `${name} is repeated`);
  }
  const grantType = form.get('grant_type');
  if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required');
  // The grant type is known before the client is: an unsupported one needs no credentials to refuse.
  if (grantType !== 'client_credentials') {
    throw new OAuthError(
      'unsupported_grant_type',
      `grant_type ${JSON.stringify(grantType.slice(0, 64))} is not supported; use client_credentials`,
    );
  }

  let credentials:
    | { clientId: string; clientSecret: string; authMethod: TokenRequest['authMethod'] }
    | undefined;
  if (authorization !== undefined) {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
    if (!match) throw new OAuthError('invalid_client', 'the Authorization header must be HTTP Basic', true);
    const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      throw new OAuthError('invalid_client', 'HTTP Basic credentials must be client_id:client_secret', true);
    try {
      credentials = {
        clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
        clientSecret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
        authMethod: 'client_secret_basic',
      };
    } catch {
      throw new OAuthError('invalid_client', 'HTTP Basic credentials are not form-encoded correctly', true);
    }
    if (form.has('client_secret')) {
      throw new OAuthError(
        'invalid_request',
        'use one client authentication method, not HTTP Basic and client_secret',
      );
    }
  } else if (form.has('client_id') || form.has('client_secret')) {
    const clientId = form.get('client_id');
    const clientSecret = form.get('client_secret');
    if (!clientId || !clientSecret) {
      throw new OAuthError('invalid_client', 'client_id and client_secret are both required');
    }
    credentials = { clientId, clientSecret, authMethod: 'client_secret_post' };
  }
  if (!credentials) {
    throw new OAuthError(
      'invalid_client',
      'client authentication is required (HTTP Basic or client_id + client_secret)',
      true,
    );
  }
  if (!plausibleClientCredentials(credentials.clientId, credentials.clientSecret)) {
    throw new OAuthError(
      'invalid_request',
      `client_id and client_secret are printable ASCII of at most ${MAX_CLIENT_ID_LENGTH} and ${MAX_CLIENT_SECRET_LENGTH} characters`,
    );
  }
  const scope = form.get('scope') ?? '';
  if (scope.length > MAX_SCOPE_LENGTH)
    throw new OAuthError('invalid_scope', `scope is at most ${MAX_SCOPE_LENGTH} characters`);
  const scopes = scope.split(' ').filter(Boolean);
  if (!scopes.every((token) => SCOPE_TOKEN.test(token)))
    throw new OAuthError('invalid_scope', 'scope is space-separated tokens of printable ASCII but " and \\');
  return { grantType, ...credentials, scopes: [...new Set(scopes)] };
}

/** Requested scopes narrowed to what the application may have (RFC 6749 §3.3). */
export function grantScopes(requested: readonly string[], allowed: ReadonlySet<string>): string[] {
  return requested.filter((scope) => allowed.has(scope));
}
