import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ChecksumConstructor } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { NodeSha256 } from '../../lambdas/adapters/node-sha256.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('SHA-256 on native crypto, for SigV4', () => {
  it('hashes and HMACs like the reference implementation', async () => {
    for (const secret of [undefined, 'key', new Uint8Array([1, 2, 3])]) {
      const ours = new NodeSha256(secret);
      const reference = new Sha256(secret);
      for (const chunk of ['The quick brown fox ', 'jumps over the lazy dog']) {
        ours.update(Buffer.from(chunk));
        reference.update(Buffer.from(chunk));
      }
      expect(hex(await ours.digest())).toBe(hex(await reference.digest()));
    }
    expect(hex(await new NodeSha256().digest())).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('gives SigV4 the same signature as the reference implementation', async () => {
    const request = {
      method: 'POST',
      protocol: 'https:',
      hostname: 'abc.execute-api.eu-west-1.amazonaws.com',
      path: '/prod/@connections/L0SM9cOFvHcCIhw%3D',
      headers: { host: 'abc.execute-api.eu-west-1.amazonaws.com' },
      body: 'hello',
    };
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
    const signingDate = new Date('2026-11-23T00:00:00Z');
    const sign = (sha256: ChecksumConstructor) =>
      new SignatureV4({ credentials, region: 'eu-west-1', service: 'execute-api', sha256 }).sign(request, {
        signingDate,
      });
    expect((await sign(NodeSha256)).headers.authorization).toBe((await sign(Sha256)).headers.authorization);
  });
});
