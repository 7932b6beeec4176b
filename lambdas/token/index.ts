/**
 * The token function: lambdas/token/endpoint.ts over the registry and the signing keys, built here
 * once per execution environment (missing configuration fails the cold start).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createDocumentClient } from '../adapters/dynamo.ts';
import { Registry } from '../adapters/registry.ts';
import { SigningKeyStore } from '../adapters/signing-key-store.ts';
import { catalog } from '../shared/catalog.ts';
import { intEnv, requireEnv } from '../shared/env.ts';
import { flushMetrics, recordConsumedCapacity } from '../shared/observability.ts';
import { createTokenEndpoint } from './endpoint.ts';

const keyCacheSeconds = intEnv('SIGNING_KEY_CACHE_SECONDS', 300);
const endpoint = createTokenEndpoint({
  registry: new Registry(
    createDocumentClient({ onConsumedCapacity: recordConsumedCapacity }),
    requireEnv('REGISTRY_TABLE'),
  ),
  keys: new SigningKeyStore(
    new SecretsManagerClient({}),
    requireEnv('SIGNING_KEY_SECRET'),
    keyCacheSeconds * 1000,
  ),
  catalog,
  issuer: requireEnv('TOKEN_ISSUER'),
  audience: requireEnv('TOKEN_AUDIENCE'),
  tokenLifetimeSeconds: intEnv('TOKEN_TTL_SECONDS', 3600),
  activationSeconds: intEnv('SIGNING_KEY_ACTIVATION_SECONDS', keyCacheSeconds + 60),
});

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  try {
    return await endpoint(event);
  } finally {
    flushMetrics();
  }
};
