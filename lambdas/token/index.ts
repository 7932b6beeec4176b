/**
 * The built-in OAuth2 authorization server, behind the HTTP API:
 *   POST /oauth2/token                          client_credentials → JWT access token
 *   GET  /.well-known/jwks.json                 the public signing keys
 *   GET  /.well-known/oauth-authorization-server  RFC 8414 metadata
 * Keys live in Secrets Manager (rotated by the signing-key-rotation function), never in code or logs.
 */
import { randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { importJWK, SignJWT } from 'jose';
import { createDocumentClient } from '../adapters/dynamo.ts';
import { Registry } from '../adapters/registry.ts';
import { SigningKeyStore } from '../adapters/signing-key-store.ts';
import { verifySecret } from '../core/credentials.ts';
import { grantScopes, OAuthError, parseTokenRequest } from '../core/oauth.ts';
import { SUBSCRIPTIONLESS_PLAN } from '../core/plans.ts';
import { activeKey, publicJwks } from '../core/signing-keys.ts';
import { catalog } from '../shared/catalog.ts';
import { ENV } from '../shared/env.ts';
import { bodyText, header, json } from '../shared/http.ts';
import { flushMetrics, logger, MetricUnit, metrics } from '../shared/observability.ts';

const issuer = ENV.tokenIssuer.read();
const audience = ENV.tokenAudience.read();
const tokenLifetime = ENV.tokenLifetimeSeconds.read();
const registry = new Registry(createDocumentClient(), ENV.registryTable.read());
const keyCacheSeconds = ENV.signingKeyCacheSeconds.read();
const keys = new SigningKeyStore(
  new SecretsManagerClient({}),
  ENV.signingKeySecret.read(),
  keyCacheSeconds * 1000,
);
/** A new key signs only once every issuer cache and every verifier's JWKS can know it. */
const activationSeconds = ENV.signingKeyActivationSeconds.read();

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

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const route = `${event.requestContext.http.method} ${event.rawPath}`;
  try {
    switch (route) {
      case 'POST /oauth2/token':
        return await issueToken(event);
      case 'GET /.well-known/jwks.json':
        return json(200, publicJwks(await keys.current()), { 'cache-control': 'public, max-age=300' });
      case 'GET /.well-known/oauth-authorization-server':
        return json(200, {
          issuer,
          token_endpoint: `${issuer}/oauth2/token`,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          grant_types_supported: ['client_credentials'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        });
      default:
        return json(404, { error: 'not_found', message: `no route ${route}` });
    }
  } catch (error) {
    if (error instanceof OAuthError) {
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
    throw error;
  } finally {
    flushMetrics();
  }
};

async function issueToken(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
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
    throw new OAuthError('temporarily_unavailable', 'the signing key is not provisioned yet; retry shortly');

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
    .setExpirationTime(now + tokenLifetime)
    .setJti(randomUUID())
    .sign(await importJWK(signing.privateJwk, signing.alg));

  logger.info('token issued', { clientId: client.clientId, keyType: client.keyType, scopes });
  metrics.addMetric('tokensIssued', MetricUnit.Count, 1);
  return json(
    200,
    { access_token: token, token_type: 'Bearer', expires_in: tokenLifetime, scope: scopes.join(' ') },
    { 'cache-control': 'no-store', pragma: 'no-cache' },
  );
}
