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
