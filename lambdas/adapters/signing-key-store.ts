import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { JWK } from 'jose';
import { parseKeySet, publicJwks, type SigningKeySet } from '../core/signing-keys.ts';

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

/** A JWKS document: public keys only. */
export interface PublicJwks {
  keys: JWK[];
}

/**
 * The built-in issuer's PUBLIC keys, published by the signing-key rotation into a secret of their
 * own (never the private keys' secret), so `$connect` verifies built-in tokens without an HTTP
 * round trip to its own JWKS — and keeps verifying them while the HTTP API is throttled.
 *
 * `publish` (rotation): writes the public half of a key set. `keys(kid)` (`$connect`): the
 * document, read once per execution environment and again when a token names a `kid` it lacks
 * (at most once per `cooldownMs`); undefined when nothing was published yet.
 */
export class PublishedJwks {
  private cached: PublicJwks | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<PublicJwks | undefined> | undefined;

  constructor(
    private readonly secrets: SecretsManagerClient,
    private readonly secretId: string,
    private readonly cooldownMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Publishes the public half of `set` (the rotation's last step). */
  async publish(set: SigningKeySet): Promise<PublicJwks> {
    const document = publicJwks(set);
    await this.secrets.send(
      new PutSecretValueCommand({ SecretId: this.secretId, SecretString: JSON.stringify(document) }),
    );
    return document;
  }

  /** The published keys, read again when they lack `kid` and the cooldown has passed. */
  async keys(kid: string | undefined): Promise<PublicJwks | undefined> {
    const known = this.cached?.keys.some((key) => kid === undefined || key.kid === kid);
    if (this.cached && known) return this.cached;
    if (this.now() - this.readAt < this.cooldownMs) return this.cached;
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<PublicJwks | undefined> {
    this.readAt = this.now();
    const { SecretString } = await this.secrets.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    const parsed = parsePublicJwks(SecretString);
    if (parsed) this.cached = parsed;
    return this.cached;
  }
}

/** A published document's keys; undefined when absent, not JSON or empty (before the first rotation). */
export function parsePublicJwks(text: string | undefined): PublicJwks | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as { keys?: unknown };
    if (!Array.isArray(value.keys) || value.keys.length === 0) return undefined;
    // Public keys only: a document carrying a private part is refused whole.
    const keys = value.keys.filter((k): k is JWK => typeof k === 'object' && k !== null);
    if (keys.some((k) => 'd' in k)) return undefined;
    return { keys };
  } catch {
    return undefined;
  }
}
