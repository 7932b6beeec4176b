import { describe, expect, it } from 'vitest';
import {
  signatureHeader,
  signedPayload,
  verifyBackendSignature,
} from '../../lambdas/core/backend-signature.ts';

const request = { method: 'POST', path: '/prod?room=room1', body: 'hello' };
const secret = 'whsec-test';
const NOW = 1_800_000_000;

describe('http backend request signatures', () => {
  it('sign method, path with query and body, prefixed by the time', () => {
    expect(signedPayload(NOW, { ...request, method: 'post' })).toBe(`${NOW}.POST./prod?room=room1.hello`);
    // A fixed vector for verifiers in other languages (docs/backends.md).
    expect(signatureHeader('secret', { method: 'POST', path: '/hook', body: '{}' }, 1_700_000_000)).toBe(
      't=1700000000,v1=b28442a50b4a83fb5cc3b3899bfd5f7fa448447d6733d86002ce09a03d8bb5fb',
    );
  });

  it('verify a genuine request within the tolerance, with the current or the previous secret', () => {
    const header = signatureHeader(secret, request, NOW);
    expect(verifyBackendSignature(header, request, secret, { now: NOW + 299 })).toEqual({
      valid: true,
      timestamp: NOW,
    });
    expect(verifyBackendSignature(header, request, ['new-secret', secret], { now: NOW })).toMatchObject({
      valid: true,
    });
  });

  it('tell a forgery: no header, a malformed one, another secret, a changed body, path or method', () => {
    const header = signatureHeader(secret, request, NOW);
    const check = (h: string | undefined, r = request, s = secret) =>
      verifyBackendSignature(h, r, s, { now: NOW });
    expect(check(undefined)).toEqual({ valid: false, reason: 'missing' });
    expect(check('sha256=abc')).toEqual({ valid: false, reason: 'malformed' });
    expect(check(`t=${NOW},v1=xyz`)).toEqual({ valid: false, reason: 'malformed' });
    expect(check(header, request, 'guessed')).toEqual({ valid: false, reason: 'mismatch' });
    expect(check(header, { ...request, body: 'hellO' })).toEqual({ valid: false, reason: 'mismatch' });
    expect(check(header, { ...request, path: '/prod?room=room2' })).toEqual({
      valid: false,
      reason: 'mismatch',
    });
    expect(check(header, { ...request, method: 'PUT' })).toEqual({ valid: false, reason: 'mismatch' });
    // The time is signed too: moving it breaks the signature.
    expect(check(header.replace(`t=${NOW}`, `t=${NOW + 1}`))).toEqual({ valid: false, reason: 'mismatch' });
  });

  it('refuse a replay older (or newer) than the tolerance', () => {
    const header = signatureHeader(secret, request, NOW);
    expect(verifyBackendSignature(header, request, secret, { now: NOW + 301 })).toEqual({
      valid: false,
      reason: 'expired',
    });
    expect(verifyBackendSignature(header, request, secret, { now: NOW - 301 })).toMatchObject({
      valid: false,
    });
    expect(
      verifyBackendSignature(header, request, secret, { now: NOW + 3_000, toleranceSeconds: 3_600 }),
    ).toMatchObject({ valid: true });
  });
});
