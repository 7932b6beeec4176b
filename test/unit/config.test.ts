import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_SCHEMA_FILE,
  ConfigError,
  configJsonSchema,
  DEFAULT_CONFIG,
  kafkaClusterOf,
  loadConfig,
  parseConfig,
} from '../../lib/config.ts';

const root = path.resolve(import.meta.dirname, '../..');

type SchemaNode = Record<string, unknown>;

/** Every property of a JSON Schema at any depth, by JSON path (`kafka.batchSize`, `issuers[].issuer`). */
function settings(schema: SchemaNode, at = ''): [string, SchemaNode][] {
  return Object.entries((schema.properties ?? {}) as Record<string, SchemaNode>).flatMap(
    ([key, property]) => [
      [`${at}${key}`, property] as [string, SchemaNode],
      ...settings(property, `${at}${key}.`),
      ...(property.items ? settings(property.items as SchemaNode, `${at}${key}[].`) : []),
    ],
  );
}

describe('the streamgate.config.json schema', () => {
  it.each([
    [{ kafka: { batchsize: 10 } }, /unknown setting "kafka\.batchsize"/],
    [{ throttle: { rate: 1 } }, /unknown setting "throttle\.rate"/],
    [{ token: { lifetime: 60 } }, /unknown setting "token\.lifetime"/],
    [
      { issuers: [{ issuer: 'https://i', jwksUri: 'https://i/jwks', audience: 'a', tennant: 't' }] },
      /unknown setting "issuers\[0\]\.tennant"/,
    ],
    [{ kafka: { batchSize: 0 } }, /kafka\.batchSize must be an integer from 1 to 10000/],
    [{ kafka: { startingPosition: 'EARLIEST' } }, /kafka\.startingPosition must be LATEST or TRIM_HORIZON/],
    [{ kafka: { clusterArn: 'cluster' } }, /kafka\.clusterArn must be an MSK cluster ARN/],
    [{ token: { audience: '' } }, /token\.audience must be a non-empty string/],
    [{ issuers: [{ issuer: 'https://i', jwksUri: 'https://i/jwks' }] }, /issuers\[0\]\.audience is required/],
    [{ registryCacheSeconds: -1 }, /registryCacheSeconds must be an integer from 0 to 3600/],
    [{ token: { signingKeyCacheSeconds: 1.5 } }, /token\.signingKeyCacheSeconds must be an integer/],
  ])('refuses %j, naming the JSON path', (raw, message) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(message);
  });

  it('fails loading a file with a nested typo, before anything is synthesized', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sg-config-')), 'streamgate.config.json');
    writeFileSync(file, JSON.stringify({ kafka: { batchsize: 500 } }));
    expect(() => loadConfig(file)).toThrow('streamgate.config.json: unknown setting "kafka.batchsize"');
  });

  it('names every problem, not only the first', () => {
    expect(() => parseConfig({ topicShards: 0, kafka: { batchsize: 1 } })).toThrow(
      /topicShards must be .*; unknown setting "kafka\.batchsize"/,
    );
  });

  it('accepts a $schema reference for editors and leaves it out of the settings', () => {
    const config = parseConfig({ $schema: `./${CONFIG_SCHEMA_FILE}`, topicShards: 2 });
    expect(config).toEqual({ ...DEFAULT_CONFIG, topicShards: 2 });
    expect(config).not.toHaveProperty('$schema');
  });

  it('documents the settings the functions read (defaults as before they were settings)', () => {
    expect(DEFAULT_CONFIG).toMatchObject({
      registryCacheSeconds: 5,
      jwksCooldownSeconds: 30,
      token: { signingKeyCacheSeconds: 300, signingKeyActivationSeconds: 360 },
    });
    expect(parseConfig({ token: { signingKeyCacheSeconds: 60 } }).token.signingKeyActivationSeconds).toBe(
      120,
    );
    expect(
      parseConfig({ token: { signingKeyCacheSeconds: 60, signingKeyActivationSeconds: 90 } }).token
        .signingKeyActivationSeconds,
    ).toBe(90);
  });

  it('describes every setting, at every depth', () => {
    const undocumented = settings(configJsonSchema())
      .filter(([, property]) => typeof property.description !== 'string' || property.description.length < 10)
      .map(([at]) => at);
    expect(undocumented).toEqual([]);
  });

  it('lists every setting in docs/configuration.md', () => {
    const doc = readFileSync(path.join(root, 'docs/configuration.md'), 'utf8');
    const missing = settings(configJsonSchema())
      .filter(
        ([at, property]) =>
          at !== '$schema' &&
          property.type !== 'object' &&
          !new RegExp(`^\\| \`${at.replace(/[.[\]]/g, '\\$&')}\` +\\|`, 'm').test(doc),
      )
      .map(([at]) => at);
    expect(missing).toEqual([]);
  });

  it('is published as the committed JSON Schema (regenerate: npx tsx bin/config-schema.ts)', () => {
    const committed = JSON.parse(readFileSync(path.join(root, CONFIG_SCHEMA_FILE), 'utf8'));
    expect(committed).toEqual(configJsonSchema());
    expect(committed).toMatchObject({
      additionalProperties: false,
      properties: { $schema: { type: 'string' } },
    });
  });
});

describe('kafka.cluster (issue 12 #9)', () => {
  const ARN =
    'arn:aws:kafka:eu-west-1:123456789012:cluster/prod-streams/11111111-2222-3333-4444-555555555555-1';

  it('is "none" by default: the default deploy has no Kafka', () => {
    expect(DEFAULT_CONFIG.kafka.cluster).toBe('none');
    expect(kafkaClusterOf(DEFAULT_CONFIG.kafka, {})).toBe('none');
  });

  it('takes "serverless" or an ARN; the older kafka.clusterArn and the CDK context keep working, context first', () => {
    expect(kafkaClusterOf(parseConfig({ kafka: { cluster: 'serverless' } }).kafka, {})).toBe('serverless');
    expect(kafkaClusterOf(parseConfig({ kafka: { clusterArn: ARN } }).kafka, {})).toBe(ARN);
    expect(kafkaClusterOf(DEFAULT_CONFIG.kafka, { kafkaClusterArn: ARN })).toBe(ARN);
    expect(kafkaClusterOf(DEFAULT_CONFIG.kafka, { kafkaCluster: 'serverless', kafkaClusterArn: ARN })).toBe(
      'serverless',
    );
  });

  it('refuses anything else, naming the setting', () => {
    expect(() => parseConfig({ kafka: { cluster: 'msk' } })).toThrow(
      /kafka.cluster must be "none", "serverless" or an MSK cluster ARN/,
    );
    expect(() => parseConfig({ kafka: { cluster: 'serverless', clusterArn: ARN } })).toThrow(
      /kafka.cluster names a different cluster than kafka.clusterArn/,
    );
    expect(() => kafkaClusterOf(DEFAULT_CONFIG.kafka, { kafkaCluster: 'yes' })).toThrow(
      /context value kafkaCluster/,
    );
    expect(() => parseConfig({ kafka: { clientVpcs: [{ subnetIds: ['subnet-1'] }] } })).toThrow(
      /kafka.clientVpcs\[0\].subnetIds must name at least two subnets/,
    );
  });
});
