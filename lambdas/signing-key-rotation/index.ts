/**
 * Secrets Manager rotation for the token issuer's signing keys (the four-step protocol:
 * createSecret, setSecret, testSecret, finishSecret). Each rotation puts a new key first and keeps
 * the previous ones until every token they signed has expired. finishSecret also publishes the
 * PUBLIC keys of the current set to a secret of their own, where `$connect` reads them (it may not
 * read this secret: the private keys stay with the token function and this one).
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerRotationEvent } from 'aws-lambda';
import { CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK } from 'jose';
import { PublishedJwks } from '../adapters/signing-key-store.ts';
import { activeKey, parseKeySet, rotateKeySet, type SigningKey } from '../core/signing-keys.ts';
import { ENV } from '../shared/env.ts';
import { observed } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';

const secrets = new SecretsManagerClient({});
const maxTokenLifetime = ENV.tokenLifetimeSeconds.read();
const activationSeconds = ENV.signingKeyActivationSeconds.read();
const publicJwksSecret = ENV.publicJwksSecret.read();
if (!publicJwksSecret) throw new Error(`${ENV.publicJwksSecret.name} environment variable is not set`);
const published = new PublishedJwks(secrets, publicJwksSecret);

async function rotate(event: SecretsManagerRotationEvent): Promise<void> {
  const { Step, SecretId, ClientRequestToken } = event;
  const metadata = await secrets.send(new DescribeSecretCommand({ SecretId }));
  if (!metadata.RotationEnabled) throw new Error('rotation is not enabled on the signing key secret');
  const stages = metadata.VersionIdsToStages?.[ClientRequestToken];
  if (!stages) throw new Error('the rotation token is not a version of the signing key secret');
  if (stages.includes('AWSCURRENT') && Step !== 'finishSecret') {
    logger.info('version is already current; nothing to do');
    return;
  }
  switch (Step) {
    case 'createSecret':
      return createSecret(SecretId, ClientRequestToken);
    case 'setSecret':
      return; // the keys are only used by the token issuer, which reads the secret itself
    case 'testSecret':
      return testSecret(SecretId, ClientRequestToken);
    case 'finishSecret':
      return finishSecret(SecretId, ClientRequestToken, metadata.VersionIdsToStages ?? {});
    default:
      throw new Error(`unknown rotation step ${String(Step)}`);
  }
}

export const handler = observed(rotate, { logKeys: (event) => ({ step: event.Step }) });

async function createSecret(secretId: string, token: string): Promise<void> {
  try {
    await secrets.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionId: token, VersionStage: 'AWSPENDING' }),
    );
    logger.info('pending version exists already');
    return;
  } catch (error) {
    if (
      !(error instanceof ResourceNotFoundException) &&
      (error as { name?: string }).name !== 'ResourceNotFoundException'
    ) {
      throw error;
    }
  }
  const current = await secrets.send(
    new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
  );
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const now = Math.floor(Date.now() / 1000);
  const key: SigningKey = {
    kid: randomUUID(),
    alg: 'RS256',
    createdAt: now,
    privateJwk: await exportJWK(privateKey),
  };
  const next = rotateKeySet(parseKeySet(current.SecretString), key, now, maxTokenLifetime, activationSeconds);
  await secrets.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      ClientRequestToken: token,
      SecretString: JSON.stringify(next),
      VersionStages: ['AWSPENDING'],
    }),
  );
  logger.info('new signing key created', { kid: key.kid, keysKept: next.keys.length });
}

async function testSecret(secretId: string, token: string): Promise<void> {
  const pending = await secrets.send(
    new GetSecretValueCommand({ SecretId: secretId, VersionId: token, VersionStage: 'AWSPENDING' }),
  );
  const key = activeKey(parseKeySet(pending.SecretString));
  if (!key) throw new Error('the pending signing key set has no active key');
  const privateKey = await importJWK(key.privateJwk, key.alg);
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = key.privateJwk;
  const signed = await new CompactSign(new TextEncoder().encode('rotation test'))
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .sign(privateKey);
  await compactVerify(signed, await importJWK(publicJwk, key.alg));
}

async function finishSecret(
  secretId: string,
  token: string,
  versions: Record<string, string[]>,
): Promise<void> {
  const currentVersion = Object.entries(versions).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
  if (currentVersion !== token) {
    await secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: token,
        ...(currentVersion ? { RemoveFromVersionId: currentVersion } : {}),
      }),
    );
  }
  // Published on every finish (a repeated one too): verifiers learn a new key before it signs.
  const current = await secrets.send(
    new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
  );
  const document = await published.publish(parseKeySet(current.SecretString));
  logger.info('rotation finished', { publishedKeys: document.keys.map((key) => key.kid) });
}
