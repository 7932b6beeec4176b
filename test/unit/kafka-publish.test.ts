import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mskIamToken } from '../../lambdas/adapters/msk-iam-token.ts';
import type { Catalog } from '../../lambdas/core/catalog.ts';
import { recordForFrame } from '../../lambdas/core/kafka-publish.ts';
import { createTargetResolver, type TargetResolver } from '../../lambdas/core/target.ts';
import { loadCatalog } from '../../lib/definitions/load.ts';

let resolver: TargetResolver;
beforeAll(async () => {
  const catalog: Catalog = await loadCatalog(path.resolve('test/fixtures/apis'));
  resolver = createTargetResolver(catalog);
});

describe('frames published on Kafka-bound channels', () => {
  it('put key-sourced parameters in the record key', () => {
    expect(recordForFrame(resolver.resolve('/kafkarooms/1.0.0/rooms/lobby'), '{"text":"hi"}')).toEqual({
      topic: 'test-kafka-rooms',
      key: 'lobby',
      value: '{"text":"hi"}',
      headers: {},
    });
  });

  it('accept a frame whose value names the topic instance it was published on, and nothing else', () => {
    const target = resolver.resolve('/kafkarooms/1.0.0/sensors/s1');
    expect(recordForFrame(target, '{"event":{"sensor":"s1","value":1}}')).toMatchObject({
      topic: 'test-sensor-readings',
      key: null,
    });
    expect(() => recordForFrame(target, '{"event":{"sensor":"s2","value":1}}')).toThrow(
      'the frame names sensor "s2", but it was published to /sensors/s1 (sensor "s1")',
    );
    expect(() => recordForFrame(target, '{"event":{}}')).toThrow(/cannot be published to \/sensors\/s1/);
  });
});

describe('the MSK IAM token', () => {
  it('is a base64url presigned kafka-cluster:Connect URL of the region, valid 15 minutes', async () => {
    const { value, lifetimeMs } = await mskIamToken('eu-west-1', async () => ({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    }));
    expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
    const url = new URL(Buffer.from(value, 'base64url').toString('utf8'));
    expect(url.host).toBe('kafka.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('kafka-cluster:Connect');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(
      /^AKIDEXAMPLE\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/,
    );
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(lifetimeMs).toBe(900_000);
  });

  it('comes from AWS’s signer, and lasts no longer than the credentials it is signed with', async () => {
    const { value, lifetimeMs } = await mskIamToken('us-east-1', async () => ({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      sessionToken: 'session',
      expiration: new Date(Date.now() + 300_000),
    }));
    const url = new URL(Buffer.from(value, 'base64url').toString('utf8'));
    expect(url.searchParams.get('User-Agent')).toMatch(/^aws-msk-iam-sasl-signer-js\//);
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('session');
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(300);
    expect(lifetimeMs).toBeLessThanOrEqual(300_000);
    expect(lifetimeMs).toBeGreaterThan(290_000);
  });
});
