import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';

/** MSK IAM tokens last at most 15 minutes; kafkajs asks for a new one on every (re)authentication. */
const TOKEN_SECONDS = 900;

/**
 * The OAUTHBEARER token of MSK IAM authentication: a SigV4-presigned `kafka-cluster:Connect`
 * request to `kafka.{region}.amazonaws.com`, base64url-encoded (what aws-msk-iam-sasl-signer-js
 * produces, with the credentials of the function's role).
 */
export async function mskIamToken(
  region: string,
  credentials: Provider<AwsCredentialIdentity>,
): Promise<{ value: string; lifetimeMs: number }> {
  const signer = new SignatureV4({ credentials, region, service: 'kafka-cluster', sha256: Sha256 });
  const hostname = `kafka.${region}.amazonaws.com`;
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'kafka-cluster:Connect' },
      headers: { host: hostname },
    },
    { expiresIn: TOKEN_SECONDS },
  );
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(signed.query ?? {})) query.set(name, String(value));
  query.set('User-Agent', 'streamgate');
  const url = `https://${hostname}/?${query.toString()}`;
  return { value: Buffer.from(url, 'utf8').toString('base64url'), lifetimeMs: TOKEN_SECONDS * 1000 };
}
