import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseKeySet, type SigningKeySet } from '../core/signing-keys.ts';

/**
 * Reads the signing keys from Secrets Manager and keeps them for `ttlMs`, so a rotation reaches
 * every execution environment within that time while most requests read nothing.
 */
export class SigningKeyStore {
  private cached: { set: SigningKeySet; until: number } | undefined;

  constructor(
    private readonly secrets: SecretsManagerClient,
    private readonly secretId: string,
    private readonly ttlMs = 300_000,
  ) {}

  async current(): Promise<SigningKeySet> {
    if (this.cached && this.cached.until > Date.now()) return this.cached.set;
    const { SecretString } = await this.secrets.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    const set = parseKeySet(SecretString);
    // An empty set (before the first rotation) is not cached: the key may appear any moment.
    if (set.keys.length) this.cached = { set, until: Date.now() + this.ttlMs };
    return set;
  }
}
