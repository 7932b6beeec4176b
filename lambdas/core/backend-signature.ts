/**
 * The signature streamgate puts on every request to an http backend, and the check a backend runs
 * on it: HMAC-SHA256 with the stack's backend signing secret (Secrets Manager) over
 * `{t}.{METHOD}.{path and query}.{body}`, sent as `x-streamgate-signature: t={unix seconds},v1={hex}`
 * — the scheme of Stripe's and Slack's webhooks. The `x-streamgate-*` headers are not signed: a
 * backend that trusts them must first verify the signature, then read them (they describe the frame
 * the signature covers only together with the body's path, which names the topic's URL mapping).
 *
 * Backends written in TypeScript/JavaScript import `verifyBackendSignature` from this file; the
 * recipe for other languages is in docs/backends.md.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The request header carrying the signature. */
export const SIGNATURE_HEADER = 'x-streamgate-signature';

/** How far a signature's time may be from the verifier's clock by default (seconds), as Stripe's. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** What is signed of a request. `path` is the request target as the backend receives it (`/prod?room=a`). */
export interface SignedRequest {
  method: string;
  path: string;
  body: string;
}

/** The string the HMAC is computed over. */
export function signedPayload(timestamp: number, request: SignedRequest): string {
  return `${timestamp}.${request.method.toUpperCase()}.${request.path}.${request.body}`;
}

const hmac = (secret: string, payload: string) =>
  createHmac('sha256', secret).update(payload, 'utf8').digest('hex');

/**
 * The header value for a request: `t={timestamp},v1={hex HMAC-SHA256}`.
 * @param timestamp Unix seconds (the gateway's clock).
 */
export function signatureHeader(secret: string, request: SignedRequest, timestamp: number): string {
  return `t=${timestamp},v1=${hmac(secret, signedPayload(timestamp, request))}`;
}

export type SignatureCheck =
  | { valid: true; timestamp: number }
  | { valid: false; reason: 'missing' | 'malformed' | 'expired' | 'mismatch' };

/**
 * Check a request's `x-streamgate-signature` header. Accepts a list of secrets (the current and the
 * previous one while a rotation settles) and several `v1=` entries; compares in constant time;
 * refuses a timestamp more than `toleranceSeconds` from `now` (replays). Never throws.
 * @param now Unix seconds; defaults to the clock.
 */
export function verifyBackendSignature(
  header: string | string[] | undefined,
  request: SignedRequest,
  secrets: string | readonly string[],
  options: { toleranceSeconds?: number; now?: number } = {},
): SignatureCheck {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return { valid: false, reason: 'missing' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of value.split(',')) {
    const [key, item] = part.trim().split('=', 2);
    if (key === 't' && item && /^\d{1,12}$/.test(item)) timestamp = Number(item);
    else if (key === 'v1' && item && /^[0-9a-f]{64}$/.test(item)) signatures.push(item);
  }
  if (timestamp === undefined || signatures.length === 0) return { valid: false, reason: 'malformed' };
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS))
    return { valid: false, reason: 'expired' };
  const payload = signedPayload(timestamp, request);
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    const expected = Buffer.from(hmac(secret, payload), 'hex');
    if (signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected)))
      return { valid: true, timestamp };
  }
  return { valid: false, reason: 'mismatch' };
}
