import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Client credentials. Secrets are 256 random bits, so a salted SHA-256 is enough to store them:
 * slow password hashes defend guessable secrets, and these are not guessable.
 */
export function newClientId(): string {
  return randomBytes(15).toString('base64url');
}

export function newClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string, salt: string = randomBytes(16).toString('base64url')): string {
  return `sha256$${salt}$${createHash('sha256').update(`${salt}:${secret}`).digest('base64url')}`;
}

export function verifySecret(secret: string, stored: string): boolean {
  const [scheme, salt, expected] = stored.split('$');
  if (scheme !== 'sha256' || !salt || !expected) return false;
  const actual = hashSecret(secret, salt).split('$')[2] as string;
  const a = Buffer.from(actual);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The longest client id and secret taken (ours are 20 and 43 characters of base64url). */
export const MAX_CLIENT_ID_LENGTH = 128;
export const MAX_CLIENT_SECRET_LENGTH = 256;
/** RFC 6749 Appendix A: client_id and client_secret are VSCHAR (printable ASCII). */
const VSCHAR = /^[\x20-\x7e]*$/;

/**
 * Whether an id and secret could be client credentials at all: within the lengths and of
 * printable ASCII. Anything else is refused before a lookup (a DynamoDB key is at most 2 KB).
 */
export function plausibleClientCredentials(clientId: string, secret: string): boolean {
  return (
    clientId.length <= MAX_CLIENT_ID_LENGTH &&
    secret.length <= MAX_CLIENT_SECRET_LENGTH &&
    VSCHAR.test(clientId) &&
    VSCHAR.test(secret)
  );
}
