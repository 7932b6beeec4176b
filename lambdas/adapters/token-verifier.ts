import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type ProtectedHeaderParameters,
} from 'jose';
import {
  ACCEPTED_ALGORITHMS,
  audienceClaim,
  type IssuerConfig,
  type KeyType,
  type Principal,
  requireAccessTokenUse,
  requireClientIdAudience,
  requireIssuedInPast,
} from '../core/auth.ts';
import { DEFAULT_TENANT } from '../core/catalog.ts';
import { unauthorized } from '../core/errors.ts';
import type { PublishedJwks } from './signing-key-store.ts';

type KeySet = JWTVerifyGetKey;

/** Where the built-in issuer's public keys are read without HTTP (`signing-key-store.ts`). */
export interface PublishedKeys {
  /** The issuer (`iss`) whose keys these are: the built-in one. */
  issuer: string;
  source: Pick<PublishedJwks, 'keys'>;
}

/**
 * Verifies access tokens against the configured issuers. Each issuer's JWKS is fetched once and
 * cached in the execution environment (jose refetches on an unknown `kid`, at most every 30 s); the
 * built-in issuer's keys are read where its rotation publishes them (no HTTP round trip to its own
 * JWKS, so a throttled HTTP API never makes `$connect` refuse valid tokens).
 * Checks, in order: a JWT, a trusted `iss`, an accepted algorithm and a key of that issuer, the
 * signature, `typ` (where the issuer requires one), `aud` (or `client_id`, see
 * `IssuerConfig.clientIdAsAudience`), `exp` (required), `nbf`, Cognito's `token_use` and `iat` (within
 * the clock skew).
 */
export class TokenVerifier {
  private readonly keySets = new Map<string, KeySet>();

  /**
   * `clockToleranceSeconds`: the clock skew allowed on `exp`, `nbf` and `iat`. `cooldownMs`: how soon an
   * unknown `kid` may make jose fetch an issuer's JWKS again. `published`: the built-in issuer's
   * keys as its rotation publishes them, used before its JWKS URL (which stays the fallback for a
   * `kid` not published there, e.g. before the first rotation that publishes).
   */
  constructor(
    private readonly issuers: IssuerConfig[],
    private readonly clockToleranceSeconds = 5,
    private readonly cooldownMs = 30_000,
    private readonly published?: PublishedKeys,
  ) {}

  /**
   * The principal of a valid token. Throws a 401 GatewayError whose message says precisely what was
   * wrong: never the token, a key or a library's stack.
   */
  async verify(token: string): Promise<Principal> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw unauthorized('the access token is not a JWT');
    }
    if (unverified.iss === undefined) throw unauthorized('the access token names no issuer (iss)');
    const issuer = this.issuers.find((candidate) => candidate.issuer === unverified.iss);
    if (!issuer) throw unauthorized(`the access token's issuer ${shortJson(unverified.iss)} is not trusted`);
    const byClientId = audienceClaim(issuer, unverified) === 'client_id';

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keySet(issuer), {
        issuer: issuer.issuer,
        // By client_id: checked below, once the signature is known to be good.
        ...(byClientId ? {} : { audience: issuer.audience }),
        ...(issuer.typ ? { typ: issuer.typ } : {}),
        algorithms: [...ACCEPTED_ALGORITHMS],
        clockTolerance: this.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw unauthorized(describeJoseError(error, protectedHeaderOf(token), issuer));
    }
    if (byClientId) requireClientIdAudience(issuer, payload.client_id);
    requireAccessTokenUse(payload.token_use);
    // jose checks `iat` against the clock only with maxTokenAge, which would also cap a token's age.
    requireIssuedInPast(payload.iat, Date.now() / 1000, this.clockToleranceSeconds);
    return principalOf(payload, issuer);
  }

  private keySet(issuer: IssuerConfig): KeySet {
    let keySet = this.keySets.get(issuer.issuer);
    if (!keySet) {
      const remote = createRemoteJWKSet(new URL(issuer.jwksUri), {
        cooldownDuration: this.cooldownMs,
        cacheMaxAge: 600_000,
      });
      keySet =
        this.published?.issuer === issuer.issuer ? this.publishedFirst(this.published, remote) : remote;
      this.keySets.set(issuer.issuer, keySet);
    }
    return keySet;
  }

  /** The published keys where they hold the token's `kid`; the JWKS URL otherwise. */
  private publishedFirst({ source }: PublishedKeys, remote: KeySet): KeySet {
    return async (header, token) => {
      const document = await source.keys(header.kid).catch(() => undefined);
      if (document) {
        try {
          return await createLocalJWKSet(document)(header, token);
        } catch (error) {
          if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
        }
      }
      return remote(header, token);
    };
  }
}

function principalOf(payload: JWTPayload, issuer: IssuerConfig): Principal {
  const claim = (name: string | undefined) => (name ? payload[name] : undefined);
  const clientId = String(
    claim(issuer.clientIdClaim) ?? payload.client_id ?? payload.azp ?? payload.sub ?? '',
  );
  const scopeClaim = payload.scope ?? payload.scp;
  const scopes = Array.isArray(scopeClaim)
    ? scopeClaim.map(String)
    : typeof scopeClaim === 'string'
      ? scopeClaim.split(' ').filter(Boolean)
      : [];
  const tenant = String(
    claim(issuer.tenantClaim ?? 'tenant') ?? issuer.tenant ?? DEFAULT_TENANT,
  ).toLowerCase();
  const keyType: KeyType = payload.key_type === 'SANDBOX' ? 'SANDBOX' : 'PRODUCTION';
  return {
    issuer: issuer.issuer,
    subject: String(payload.sub ?? clientId),
    clientId,
    scopes,
    tenant,
    keyType,
    expiresAt: payload.exp as number,
    ...(typeof payload.app_id === 'string' ? { appId: payload.app_id } : {}),
    ...(typeof payload.application === 'string' ? { appName: payload.application } : {}),
  };
}

/** A precise, safe reason: what was wrong with the token, never the token itself. */
function describeJoseError(error: unknown, header: ProtectedHeaderParameters, issuer: IssuerConfig): string {
  if (error instanceof errors.JWTExpired) return 'the access token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    const { claim, reason } = error;
    if (claim === 'typ') {
      return typeof header.typ === 'string'
        ? `the access token's typ header is not ${issuer.typ} (another kind of JWT)`
        : `the access token has no typ header (this issuer's access tokens are ${issuer.typ})`;
    }
    if (reason === 'missing') {
      return claim === 'aud'
        ? 'the access token names no audience (aud)'
        : `the access token has no ${claim} claim`;
    }
    if (reason === 'invalid') return `the access token's ${claim} claim is not a number of seconds`;
    if (claim === 'nbf') return 'the access token is not valid yet (nbf)';
    if (claim === 'aud') return 'the access token is not meant for this gateway (aud)';
    if (claim === 'iss') return 'the access token has the wrong issuer';
    return `the access token's ${claim} claim is invalid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return algorithmRefusal(header.alg);
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return 'the access token signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey)
    return 'the access token is signed with an unknown key (none of its issuer matches its kid and alg)';
  if (error instanceof errors.JWKSMultipleMatchingKeys)
    return 'the access token names no kid and several keys of its issuer match it';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return 'the access token is malformed';
  if (error instanceof errors.JOSENotSupported)
    return 'the access token uses a JOSE feature that is not supported (crit header or key type)';
  if (error instanceof errors.JWKSTimeout) return 'the issuer keys could not be fetched in time';
  if (error instanceof errors.JWKSInvalid) return "the issuer's key set (JWKS) is invalid";
  if (error instanceof errors.JOSEError) return 'the issuer keys could not be fetched';
  return 'the access token could not be verified';
}

/** Why an `alg` is refused; a header value is echoed only when it looks like an algorithm name. */
function algorithmRefusal(alg: unknown): string {
  const refused = 'the access token is signed with an algorithm that is not accepted';
  if (typeof alg !== 'string') return `${refused} (no alg)`;
  if (alg.toLowerCase() === 'none') return `${refused} (none: the token is unsigned)`;
  if (/^HS\d+$/i.test(alg)) return `${refused} (${alg}: HMAC, where the issuer signs with a private key)`;
  return /^[A-Za-z0-9+-]{1,16}$/.test(alg) ? `${refused} (${alg})` : refused;
}

function protectedHeaderOf(token: string): ProtectedHeaderParameters {
  try {
    return decodeProtectedHeader(token);
  } catch {
    return {};
  }
}

/** A claim value for a message: JSON, cut at 80 characters (the token is the client's, not ours to echo whole). */
function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
