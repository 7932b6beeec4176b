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
import { ENV } from '../shared/env.ts';
import { observed } from '../shared/middleware.ts';
import { recordConsumedCapacity } from '../shared/observability.ts';
import { createTokenEndpoint } from './endpoint.ts';

const keyCacheSeconds = ENV.signingKeyCacheSeconds.read();
const endpoint = createTokenEndpoint({
  registry: new Registry(
    createDocumentClient({ onConsumedCapacity: recordConsumedCapacity }),
    ENV.registryTable.read(),
  ),
  keys: new SigningKeyStore(
    new SecretsManagerClient({}),
    ENV.signingKeySecret.read(),
    keyCacheSeconds * 1000,
  ),
  catalog,
  issuer: ENV.tokenIssuer.read(),
  audience: ENV.tokenAudience.read(),
  tokenLifetimeSeconds: ENV.tokenLifetimeSeconds.read(),
  activationSeconds: ENV.signingKeyActivationSeconds.read(),
});

export const handler = observed(
  (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => endpoint(event),
);
