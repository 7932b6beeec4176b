import { createRemoteJWKSet, decodeJwt, errors, type JWTPayload, jwtVerify } from 'jose';
import { ACCEPTED_ALGORITHMS, type IssuerConfig, type KeyType, type Principal } from '../core/auth.ts';
import { DEFAULT_TENANT } from '../core/catalog.ts';
import { unauthorized } from '../core/errors.ts';

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/**
 * Verifies access tokens against the configured issuers. Each issuer's JWKS is fetched once and
 * cached in the execution environment (jose refetches on an unknown `kid`, at most every 30 s).
 */
export class TokenVerifier {
  private readonly keySets = new Map<string, KeySet>();

  /** `cooldownMs`: how soon an unknown `kid` may make jose fetch an issuer's JWKS again. */
  constructor(
    private readonly issuers: IssuerConfig[],
    private readonly clockToleranceSeconds = 5,
    private readonly cooldownMs = 30_000,
  ) {}

  async verify(token: string): Promise<Principal> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw unauthorized('the access token is not a JWT');
    }
    const issuer = this.issuers.find((candidate) => candidate.issuer === unverified.iss);
    if (!issuer)
      throw unauthorized(`the access token's issuer ${JSON.stringify(unverified.iss)} is not trusted`);

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keySet(issuer), {
        issuer: issuer.issuer,
        audience: issuer.audience,
        algorithms: [...ACCEPTED_ALGORITHMS],
        clockTolerance: this.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw unauthorized(describeJoseError(error));
    }
    return principalOf(payload, issuer);
  }

  private keySet(issuer: IssuerConfig): KeySet {
    let keySet = this.keySets.get(issuer.issuer);
    if (!keySet) {
      keySet = createRemoteJWKSet(new URL(issuer.jwksUri), {
        cooldownDuration: this.cooldownMs,
        cacheMaxAge: 600_000,
      });
      this.keySets.set(issuer.issuer, keySet);
    }
    return keySet;
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
function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the access token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'the access token is not valid yet (nbf)';
    if (error.claim === 'aud') return 'the access token is not meant for this gateway (aud)';
    if (error.claim === 'iss') return 'the access token has the wrong issuer';
    return `the access token's ${error.claim} claim is invalid: ${error.reason}`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return 'the access token is signed with an algorithm that is not accepted';
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return 'the access token signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey) return 'the access token is signed with an unknown key';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return 'the access token is malformed';
  if (error instanceof errors.JWKSTimeout) return 'the issuer keys could not be fetched in time';
  return 'the access token could not be verified';
}
