/**
 * The environment contract between `lib/` and the functions: every variable a streamgate function
 * reads, its name and its reader, in one place. CDK sets them on AWS (lib/ may set only these, by
 * their key in `ENV`) and the local runtime sets them from the synthesized template. Handlers read
 * them at module scope, so a missing or malformed value fails the cold start, not the first request
 * that needs it. No I/O here beyond `process.env`: lib/ imports this file too.
 */
import type { IssuerConfig } from '../core/auth.ts';
import { type ConnectionRateConfig, DEFAULT_CONNECTION_RATE } from '../core/frame-rate.ts';

/** One environment variable: its name, and how a function reads it. */
export interface EnvVariable<T> {
  readonly name: string;
  /** Reads `process.env` now; throws when a required value is unset or malformed. */
  read(): T;
}

/** A required string; throws when unset or empty. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} environment variable is not set`);
  }
  return value;
}

/** A non-negative integer, `fallback` when unset or empty; throws when malformed. */
export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(
      `${name} environment variable must be a non-negative integer (got ${JSON.stringify(raw)})`,
    );
  }
  return value;
}

/** Required JSON; throws when unset, empty or not JSON. The shape is the setter's promise (lib/). */
export function jsonEnv<T>(name: string): T {
  const raw = requireEnv(name);
  try {
    return JSON.parse(raw) as T;
  } catch (error) {
    throw new Error(`${name} environment variable is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

const required = (name: string): EnvVariable<string> => ({ name, read: () => requireEnv(name) });
const optional = (name: string): EnvVariable<string | undefined> => ({
  name,
  read: () => process.env[name] || undefined,
});
const integer = (name: string, fallback: number | (() => number)): EnvVariable<number> => ({
  name,
  read: () => intEnv(name, typeof fallback === 'function' ? fallback() : fallback),
});
const json = <T>(name: string): EnvVariable<T> => ({ name, read: () => jsonEnv<T>(name) });
const optionalJson = <T>(name: string, fallback: T): EnvVariable<T> => ({
  name,
  read: () => (process.env[name] ? jsonEnv<T>(name) : fallback),
});

const signingKeyCacheSeconds = integer('SIGNING_KEY_CACHE_SECONDS', 300);

/**
 * Every variable lib/ sets on a function, by key. Defaults (the second argument of `integer`) are
 * the ones `streamgate.config.json` documents; lib/ always passes the configured value.
 */
export const ENV = {
  // Tables (set together with their grant: `StreamgateTable.bind`).
  /** DynamoDB table of connections and subscriptions. */
  connectionsTable: required('CONNECTIONS_TABLE'),
  /** DynamoDB table of applications, subscriptions and keys (the registry). */
  registryTable: required('REGISTRY_TABLE'),
  /** DynamoDB table of business plan counters. */
  throttleTable: required('THROTTLE_TABLE'),
  /** DynamoDB table of fan-out checkpoints and transform state. */
  streamStateTable: required('STREAM_STATE_TABLE'),
  // Gateway functions.
  /** Partition keys per topic in the connection registry (config `topicShards`). */
  topicShards: integer('TOPIC_SHARDS', 4),
  /** The built-in token issuer's URL: tokens it signed carry the application. */
  builtinIssuer: required('BUILTIN_ISSUER'),
  /** Seconds registry reads are reused (config `registryCacheSeconds`). */
  registryCacheSeconds: integer('REGISTRY_CACHE_SECONDS', 5),
  /** The stage's `@connections` endpoint (https). */
  callbackUrl: required('CALLBACK_URL'),
  /** Concurrent `@connections` calls per invocation (config `deliveryConcurrency`). */
  deliveryConcurrency: integer('DELIVERY_CONCURRENCY', 64),
  /** Channel handler function names by handler module (JSON object); none when unset. */
  handlerFunctions: optionalJson<Record<string, string>>('HANDLER_FUNCTIONS', {}),
  /** The function that carries out channel handlers' follow-ups (set where handlers exist). */
  handlerFollowUpFunction: optional('HANDLER_FOLLOW_UP_FUNCTION'),
  /** The secret (ARN) http backend requests are signed with (set where some channel has an http backend). */
  httpBackendSecret: required('HTTP_BACKEND_SECRET'),
  /** The Kafka producer function's name (set when some channel publishes to Kafka). */
  producerFunction: required('PRODUCER_FUNCTION'),
  /** Trusted token issuers, the built-in one first (JSON array of IssuerConfig). */
  tokenIssuers: json<IssuerConfig[]>('TOKEN_ISSUERS'),
  /** Per-connection frame rate limit (JSON ConnectionRateConfig, config `connectionRate`). */
  connectionRate: optionalJson<ConnectionRateConfig>('CONNECTION_RATE', DEFAULT_CONNECTION_RATE),
  /** Seconds before an unknown `kid` may refetch an issuer's JWKS (config `jwksCooldownSeconds`). */
  jwksCooldownSeconds: integer('JWKS_COOLDOWN_SECONDS', 30),
  // Token issuer.
  /** `iss` of the built-in issuer's tokens (the HTTP API's URL). */
  tokenIssuer: required('TOKEN_ISSUER'),
  /** `aud` of the built-in issuer's tokens (config `token.audience`). */
  tokenAudience: required('TOKEN_AUDIENCE'),
  /** Lifetime of the built-in issuer's tokens, seconds (config `token.lifetimeSeconds`). */
  tokenLifetimeSeconds: integer('TOKEN_TTL_SECONDS', 3600),
  /**
   * ARN of the secret the rotation publishes the built-in issuer's PUBLIC keys (JWKS) to; `$connect`
   * reads them there. Unset: the rotation publishes nothing, `$connect` reads the JWKS over HTTP.
   */
  publicJwksSecret: optional('PUBLIC_JWKS_SECRET'),
  /** ARN of the Secrets Manager secret holding the signing keys. */
  signingKeySecret: required('SIGNING_KEY_SECRET'),
  /** Seconds the token function reuses the signing keys (config `token.signingKeyCacheSeconds`). */
  signingKeyCacheSeconds,
  /** Seconds before a new key signs (config `token.signingKeyActivationSeconds`). */
  signingKeyActivationSeconds: integer(
    'SIGNING_KEY_ACTIVATION_SECONDS',
    () => signingKeyCacheSeconds.read() + 60,
  ),
  // Kafka.
  /** SQS queue URL for poison records and failed batches. */
  failureQueueUrl: required('FAILURE_QUEUE_URL'),
  /** Milliseconds the fan-out reuses a topic's subscribers (config `kafka.subscriberCacheMs`). */
  subscriberCacheMs: integer('SUBSCRIBER_CACHE_MS', 1_000),
  /** The MSK cluster the producer writes to. */
  kafkaClusterArn: required('KAFKA_CLUSTER_ARN'),
  // URLs clients use (AsyncAPI export).
  /** The WebSocket stage URL (wss). */
  webSocketStageUrl: required('WEBSOCKET_STAGE_URL'),
  /** The CloudFront edge URL (wss), when the edge is deployed. */
  webSocketEdgeUrl: optional('WEBSOCKET_EDGE_URL'),
  /** The built-in issuer's token endpoint. */
  tokenUrl: required('TOKEN_URL'),
} as const;

/** Variables the Lambda runtime sets (reserved: lib/ cannot set them). */
export const RUNTIME_ENV = {
  functionName: required('AWS_LAMBDA_FUNCTION_NAME'),
  region: required('AWS_REGION'),
} as const;

/** A key of the contract (`connectionsTable`), naming one variable (`CONNECTIONS_TABLE`). */
export type EnvKey = keyof typeof ENV;

/** What lib/ sets on a function: values (strings or CDK tokens) by contract key. */
export type FunctionEnvironment = { readonly [K in EnvKey]?: string };

/** The variables a function environment sets, by variable name (what Lambda receives). */
export function environmentVariables(environment: FunctionEnvironment): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).flatMap(([key, value]) =>
      value === undefined ? [] : [[ENV[key as EnvKey].name, value]],
    ),
  );
}
