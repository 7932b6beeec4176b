/**
 * The built-in OAuth2 authorization server, behind the HTTP API:
 *   POST /oauth2/token                          client_credentials → JWT access token (RFC 6749 §4.4, RFC 9068)
 *   GET  /.well-known/jwks.json                 the public signing keys
 *   GET  /.well-known/oauth-authorization-server  RFC 8414 metadata
 * Keys live in Secrets Manager (rotated by the signing-key-rotation function), never in code or logs.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { importJWK, SignJWT } from 'jose';
import type { Registry } from '../adapters/registry.ts';
import type { SigningKeyStore } from '../adapters/signing-key-store.ts';
import type { Catalog } from '../core/catalog.ts';
import { verifySecret } from '../core/credentials.ts';
import { grantScopes, OAuthError, parseTokenRequest } from '../core/oauth.ts';
import { SUBSCRIPTIONLESS_PLAN } from '../core/plans.ts';
import { activeKey, publicJwks } from '../core/signing-keys.ts';
import { bodyText, type HttpResult, header, json } from '../shared/http.ts';
import { logger, MetricUnit, metrics } from '../shared/observability.ts';

export interface TokenEndpointDependencies {
  registry: Pick<Registry, 'getClient' | 'listSubscriptions'>;
  keys: Pick<SigningKeyStore, 'current'>;
  catalog: Catalog;
  /** The `iss` of issued tokens and the base URL of the metadata's endpoints. */
  issuer: string;
  /** The `aud` of issued tokens. */
  audience: string;
  /** Lifetime of an access token, seconds. */
  tokenLifetimeSeconds: number;
  /** A new key signs only once every issuer cache and every verifier's JWKS can know it (seconds). */
  activationSeconds: number;
}

/** The routes the token function serves, as API Gateway route keys (`METHOD /path`). */
export const TOKEN_ROUTES = [
  'POST /oauth2/token',
  'GET /.well-known/jwks.json',
  'GET /.well-known/oauth-authorization-server',
] as const;

type TokenRoute = (typeof TOKEN_ROUTES)[number];

/**
 * The token function's answer to one request: OAuth errors as RFC 6749 §5.2 JSON (with a Basic
 * challenge when the client authenticated with Basic); other errors are thrown (API Gateway
 * answers 500).
 */
export function createTokenEndpoint(deps: TokenEndpointDependencies) {
  const { registry, keys, catalog, issuer, audience, tokenLifetimeSeconds, activationSeconds } = deps;

  /**
   * Scopes an application may hold: those of the APIs it is subscribed to (subscription active), and
   * of its tenant's APIs that take connections without a subscription.
   */
  async function allowedScopes(appId: string, tenant: string): Promise<Set<string>> {
    const subscribed = new Set(
      (await registry.listSubscriptions(appId)).filter((s) => s.status === 'ACTIVE').map((s) => s.apiId),
    );
    return new Set(
      catalog.apis
        .filter(
          (api) =>
            api.tenant === tenant && (subscribed.has(api.id) || api.plans.includes(SUBSCRIPTIONLESS_PLAN)),
        )
        .flatMap((api) => api.channels.flatMap((channel) => [...channel.pubScopes, ...channel.subScopes])),
    );
  }

  async function issueToken(event: APIGatewayProxyEventV2): Promise<HttpResult> {
    const request = parseTokenRequest(
      bodyText(event),
      header(event, 'content-type'),
      header(event, 'authorization'),
    );
    const client = await registry.getClient(request.clientId);
    if (!client || !verifySecret(request.clientSecret, client.secretHash)) {
      throw new OAuthError(
        'invalid_client',
        'unknown client or wrong secret',
        request.authMethod === 'client_secret_basic',
      );
    }
    const signing = activeKey(await keys.current(), Date.now() / 1000, activationSeconds);
    if (!signing)
      throw new OAuthError(
        'temporarily_unavailable',
        'the signing key is not provisioned yet; retry shortly',
      );

    const scopes = grantScopes(request.scopes, await allowedScopes(client.appId, client.tenant));
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      client_id: client.clientId,
      scope: scopes.join(' '),
      key_type: client.keyType,
      tenant: client.tenant,
      application: client.appName,
      app_id: client.appId,
    })
      .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setSubject(client.clientId)
      .setAudience(audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + tokenLifetimeSeconds)
      .setJti(randomUUID())
      .sign(await importJWK(signing.privateJwk, signing.alg));

    logger.info('token issued', { clientId: client.clientId, keyType: client.keyType, scopes });
    metrics.addMetric('tokensIssued', MetricUnit.Count, 1);
    return json(
      200,
      {
        access_token: token,
        token_type: 'Bearer',
        expires_in: tokenLifetimeSeconds,
        scope: scopes.join(' '),
      },
      { 'cache-control': 'no-store', pragma: 'no-cache' },
    );
  }

  const routes: Record<TokenRoute, (event: APIGatewayProxyEventV2) => Promise<HttpResult>> = {
    'POST /oauth2/token': issueToken,
    'GET /.well-known/jwks.json': async () =>
      json(200, publicJwks(await keys.current()), { 'cache-control': 'public, max-age=300' }),
    'GET /.well-known/oauth-authorization-server': async () =>
      json(
        200,
        {
          issuer,
          token_endpoint: `${issuer}/oauth2/token`,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          grant_types_supported: ['client_credentials'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        },
        { 'cache-control': 'public, max-age=300' },
      ),
  };

  return async function handle(event: APIGatewayProxyEventV2): Promise<HttpResult> {
    const route = `${event.requestContext.http.method} ${event.rawPath}`;
    try {
      const serve = routes[route as TokenRoute] as
        | ((e: APIGatewayProxyEventV2) => Promise<HttpResult>)
        | undefined;
      if (!serve) return json(404, { error: 'not_found', message: `no route ${route}` });
      return await serve(event);
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      logger.warn('token request refused', { error: error.error, reason: error.description });
      metrics.addMetric('tokensRefused', MetricUnit.Count, 1);
      return json(
        error.status,
        { error: error.error, error_description: error.description },
        {
          'cache-control': 'no-store',
          ...(error.basicChallenge ? { 'www-authenticate': 'Basic realm="streamgate"' } : {}),
        },
      );
    }
  };
}
