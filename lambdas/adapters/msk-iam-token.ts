import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import { generateAuthTokenFromCredentialsProvider } from 'aws-msk-iam-sasl-signer-js';

/**
 * The OAUTHBEARER token of MSK IAM authentication, from AWS's own signer
 * (aws-msk-iam-sasl-signer-js): a base64url SigV4-presigned `kafka-cluster:Connect` request to
 * `kafka.{region}.amazonaws.com`, valid 15 minutes (less when the credentials expire sooner).
 * `credentials` are the function role's (the SDK client's provider), injectable for tests.
 * `lifetimeMs` is the validity the token was signed with.
 */
export async function mskIamToken(
  region: string,
  credentials: Provider<AwsCredentialIdentity>,
): Promise<{ value: string; lifetimeMs: number }> {
  const { token } = await generateAuthTokenFromCredentialsProvider({
    region,
    awsCredentialsProvider: credentials,
  });
  // The signer reports an expiry time from the signing second; the signed validity is exact.
  const signed = new URL(Buffer.from(token, 'base64url').toString('utf8'));
  return { value: token, lifetimeMs: Number(signed.searchParams.get('X-Amz-Expires')) * 1000 };
}
