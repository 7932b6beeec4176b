/**
 * Deployment settings, from `streamgate.config.json` at the project root (every field optional).
 * The same file drives `cdk synth` and the local stack, which runs what was synthesized.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IssuerConfig } from '../lambdas/core/auth.ts';

export interface StreamgateConfig {
  /** Name of the WebSocket API stage (the last part of the stage URL). */
  stageName: string;
  /** Steady-state and burst limits of the stage, in requests per second. */
  throttle: { rateLimit: number; burstLimit: number };
  /** Partition keys per topic in the connection registry. More spread a hot topic; each costs one Query per fan-out. */
  topicShards: number;
  /** Concurrent `@connections` calls per fan-out invocation. */
  deliveryConcurrency: number;
  token: {
    /** `aud` of the built-in issuer's tokens, and what the gateway expects of them. */
    audience: string;
    lifetimeSeconds: number;
    /** Signing keys are rotated this often (and on demand). */
    rotationDays: number;
  };
  /** Trusted external issuers (Cognito, Auth0, Keycloak…), besides the built-in one. */
  issuers: IssuerConfig[];
  logRetentionDays: number;
  /** CloudFront in front of the stage, carrying WSO2-style paths (`/chats/1.0.0/rooms/room1`). */
  edge: boolean;
  /**
   * Let the stack set API Gateway's account-wide CloudWatch Logs role, which WebSocket access
   * logging needs. Turn off where the account already has one set.
   */
  apiGatewayAccountRole: boolean;
  kafka: KafkaConfig;
}

export interface KafkaConfig {
  /**
   * An existing MSK cluster (IAM auth). Without it, a new MSK Serverless cluster is created in a
   * VPC of its own when any channel is Kafka-bound. The CDK context value `kafkaClusterArn` wins.
   */
  clusterArn?: string;
  /** Records per fan-out invocation at most (1–10,000). */
  batchSize: number;
  /** Seconds the event source mapping waits to fill a batch (0 = as soon as records arrive). */
  batchingWindowSeconds: number;
  startingPosition: 'LATEST' | 'TRIM_HORIZON';
  /** Consumer group ids are `{prefix}-{topic}`. */
  consumerGroupPrefix: string;
  /**
   * How long the fan-out reuses a topic's subscriber list (ms): a busy topic is looked up once
   * per this instead of once per batch; a new subscriber starts receiving within it. 0: always look up.
   */
  subscriberCacheMs: number;
  /** Fan-out function memory and timeout (at most 14 minutes for Kafka). */
  fanoutMemoryMb: number;
  fanoutTimeoutSeconds: number;
}

export const DEFAULT_CONFIG: StreamgateConfig = {
  stageName: 'prod',
  throttle: { rateLimit: 1000, burstLimit: 500 },
  topicShards: 4,
  deliveryConcurrency: 64,
  token: { audience: 'streamgate', lifetimeSeconds: 3600, rotationDays: 30 },
  issuers: [],
  logRetentionDays: 30,
  edge: true,
  apiGatewayAccountRole: true,
  kafka: {
    batchSize: 100,
    batchingWindowSeconds: 0,
    startingPosition: 'LATEST',
    consumerGroupPrefix: 'streamgate',
    subscriberCacheMs: 1_000,
    fanoutMemoryMb: 1024,
    fanoutTimeoutSeconds: 300,
  },
};

export const CONFIG_FILE = 'streamgate.config.json';

export class ConfigError extends Error {
  constructor(message: string) {
    super(`${CONFIG_FILE}: ${message}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(file: string = CONFIG_FILE): StreamgateConfig {
  if (!existsSync(file)) return DEFAULT_CONFIG;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(raw);
}

export function parseConfig(raw: unknown): StreamgateConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError('must be a JSON object');
  const input = raw as Record<string, unknown>;
  const known = Object.keys(DEFAULT_CONFIG);
  for (const key of Object.keys(input)) {
    if (key !== '$schema' && !known.includes(key)) throw new ConfigError(`unknown setting "${key}"`);
  }
  const config: StreamgateConfig = {
    ...DEFAULT_CONFIG,
    ...input,
    throttle: { ...DEFAULT_CONFIG.throttle, ...(input.throttle as object | undefined) },
    token: { ...DEFAULT_CONFIG.token, ...(input.token as object | undefined) },
    kafka: { ...DEFAULT_CONFIG.kafka, ...(input.kafka as object | undefined) },
  } as StreamgateConfig;

  if (!/^[A-Za-z0-9_-]{1,128}$/.test(config.stageName))
    throw new ConfigError('stageName may hold letters, digits, _ and -');
  positiveInt(config.throttle.rateLimit, 'throttle.rateLimit');
  positiveInt(config.throttle.burstLimit, 'throttle.burstLimit');
  positiveInt(config.topicShards, 'topicShards', 64);
  positiveInt(config.deliveryConcurrency, 'deliveryConcurrency', 1000);
  positiveInt(config.token.lifetimeSeconds, 'token.lifetimeSeconds', 86_400);
  positiveInt(config.token.rotationDays, 'token.rotationDays', 365);
  positiveInt(config.logRetentionDays, 'logRetentionDays');
  if (typeof config.token.audience !== 'string' || !config.token.audience) {
    throw new ConfigError('token.audience must be a non-empty string');
  }
  if (!Array.isArray(config.issuers)) throw new ConfigError('issuers must be a list');
  config.issuers.forEach((issuer, i) => {
    for (const field of ['issuer', 'jwksUri'] as const) {
      if (typeof issuer?.[field] !== 'string' || !/^https?:\/\//.test(issuer[field])) {
        throw new ConfigError(`issuers[${i}].${field} must be an http(s) URL`);
      }
    }
    if (!issuer.audience) throw new ConfigError(`issuers[${i}].audience is required`);
  });
  const { kafka } = config;
  positiveInt(kafka.batchSize, 'kafka.batchSize', 10_000);
  if (
    !Number.isInteger(kafka.batchingWindowSeconds) ||
    kafka.batchingWindowSeconds < 0 ||
    kafka.batchingWindowSeconds > 300
  ) {
    throw new ConfigError('kafka.batchingWindowSeconds must be an integer from 0 to 300');
  }
  if (!['LATEST', 'TRIM_HORIZON'].includes(kafka.startingPosition)) {
    throw new ConfigError('kafka.startingPosition must be LATEST or TRIM_HORIZON');
  }
  if (
    !Number.isInteger(kafka.subscriberCacheMs) ||
    kafka.subscriberCacheMs < 0 ||
    kafka.subscriberCacheMs > 60_000
  ) {
    throw new ConfigError('kafka.subscriberCacheMs must be an integer from 0 to 60000');
  }
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(kafka.consumerGroupPrefix)) {
    throw new ConfigError('kafka.consumerGroupPrefix may hold letters, digits, ".", "_" and "-"');
  }
  if (
    kafka.clusterArn !== undefined &&
    !/^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\/[^/]+\/[^/]+$/.test(kafka.clusterArn)
  ) {
    throw new ConfigError(
      'kafka.clusterArn must be an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>)',
    );
  }
  positiveInt(kafka.fanoutMemoryMb, 'kafka.fanoutMemoryMb', 10_240);
  positiveInt(kafka.fanoutTimeoutSeconds, 'kafka.fanoutTimeoutSeconds', 840);
  for (const flag of ['edge', 'apiGatewayAccountRole'] as const) {
    if (typeof config[flag] !== 'boolean') throw new ConfigError(`${flag} must be true or false`);
  }
  return config;
}

function positiveInt(value: unknown, name: string, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigError(`${name} must be an integer from 1 to ${max}`);
  }
}
