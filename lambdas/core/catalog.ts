/**
 * The compiled form of the API definitions under `apis/`: what the Lambdas need at run time,
 * already validated. `lib/definitions` builds it from AsyncAPI documents at synth time; the
 * handlers receive it inlined in their bundle, so nothing is parsed on the hot path.
 */

import type { TransformDef } from './transform/siddhi.ts';

export const DEFAULT_TENANT = 'carbon.super';

export type LifecycleState = 'CREATED' | 'PUBLISHED' | 'DEPRECATED' | 'BLOCKED' | 'RETIRED';
export const LIFECYCLE_STATES: readonly LifecycleState[] = [
  'CREATED',
  'PUBLISHED',
  'DEPRECATED',
  'BLOCKED',
  'RETIRED',
];

export type MessageFormat = 'json' | 'xml' | 'text';

/** Where a parameter of a Kafka-bound channel takes its value from, per record. */
export type KafkaParameterSource =
  | { from: 'key' }
  | { from: 'header'; name: string }
  | { from: 'value'; pointer: string };

export interface FanoutBackend {
  type: 'fanout';
}

export interface KafkaBackend {
  type: 'kafka';
  topic: string;
  /** A Siddhi-style query run on the records before they reach subscribers. */
  transform?: TransformDef;
  /** How each channel parameter is filled from a record. */
  parameters: Record<string, KafkaParameterSource>;
  /** Several records for one connection in one batch may be sent as one frame (a JSON array). */
  coalesce: boolean;
  /**
   * How long the topic's event source mapping gathers records before invoking the fan-out
   * (MaximumBatchingWindowInSeconds); unset: `kafka.batchingWindowSeconds` from the config.
   * With `coalesce`, a longer window means more events per frame: fewer, cheaper messages.
   */
  batchingWindowSeconds?: number;
}

export interface HttpBackend {
  type: 'http';
  timeoutMs: number;
}

export interface HandlerBackend {
  type: 'handler';
  handler: string;
}

export type ChannelBackend = FanoutBackend | KafkaBackend | HttpBackend | HandlerBackend;

export interface ChannelDef {
  /** The channel's path template as written in the definition, e.g. `/rooms/{roomID}`. */
  name: string;
  /** Clients may send on it. */
  pub: boolean;
  /** Clients may receive on it. */
  sub: boolean;
  /** Scopes a token needs to publish / to subscribe. */
  pubScopes: string[];
  subScopes: string[];
  format: MessageFormat;
  backend: ChannelBackend;
  /** WSO2 URL mapping, e.g. `/rooms?room={uri.var.roomID}`. */
  uriMapping?: string;
  /** `x-auth-type: None`: clients connect without a token. */
  open?: boolean;
}

export interface ApiDef {
  /** Stable identifier: `{tenant}/{name}/{version}`. */
  id: string;
  name: string;
  version: string;
  /** Context without tenant prefix, e.g. `/chats` or `/train/location`. */
  context: string;
  tenant: string;
  /** A connection URL without version reaches this version. */
  defaultVersion: boolean;
  lifecycle: LifecycleState;
  /** OAuth2 required to connect. */
  secured: boolean;
  plans: string[];
  endpoints: { production?: string; sandbox?: string };
  channels: ChannelDef[];
  description?: string;
  /** Definition file this API came from (for messages). */
  source: string;
}

export interface Catalog {
  apis: ApiDef[];
  /**
   * The definitions as written (parsed YAML/JSON), by API id: what AsyncAPI export starts from.
   * Only the management function's bundle carries them.
   */
  documents?: Record<string, unknown>;
}

/**
 * The API version's context qualified by its tenant domain — `carbon.super/chats/1.0.0`,
 * `quantis.com/train/location/1.0.0` — which identifies it across the system (connection records,
 * topic keys). Not a credential: WSO2's "API key" is something else.
 */
export function qualifiedContext(api: Pick<ApiDef, 'tenant' | 'context' | 'version'>): string {
  return `${api.tenant}${api.context}/${api.version}`;
}

/** Where clients reach an API version: `/chats/1.0.0`, `/t/quantis.com/train/location/1.0.0`. */
export function apiPath(api: Pick<ApiDef, 'tenant' | 'context' | 'version'>): string {
  return `${api.tenant === DEFAULT_TENANT ? '' : `/t/${api.tenant}`}${api.context}/${api.version}`;
}

/** The deployed API whose {@link qualifiedContext} this is, if any. */
export function findApiByQualifiedContext(catalog: Catalog, context: string): ApiDef | undefined {
  return catalog.apis.find((api) => qualifiedContext(api) === context);
}

export function findApiById(catalog: Catalog, id: string): ApiDef | undefined {
  return catalog.apis.find((api) => api.id === id);
}

export function findChannel(api: ApiDef, name: string): ChannelDef | undefined {
  return api.channels.find((channel) => channel.name === name);
}

/** Which channels of a Kafka topic count: any, those clients subscribe to, or those they publish on. */
export type KafkaTopicUse = 'any' | 'sub' | 'pub';

/**
 * The Kafka topics the catalog's Kafka-bound channels name, each once, sorted. `use` keeps the
 * topics of channels clients subscribe to (`sub`: the fan-out reads them) or publish on (`pub`: the
 * producer writes them).
 */
export function kafkaTopics(catalog: Catalog, use: KafkaTopicUse = 'any'): string[] {
  const topics = catalog.apis.flatMap((api) =>
    api.channels.flatMap((channel) =>
      channel.backend.type === 'kafka' && (use === 'any' || channel[use]) ? [channel.backend.topic] : [],
    ),
  );
  return [...new Set(topics)].sort();
}

/** The channel handler modules (backend type `handler`) the catalog names, each once, sorted. */
export function handlerModules(catalog: Catalog): string[] {
  const modules = catalog.apis.flatMap((api) =>
    api.channels.flatMap((channel) => (channel.backend.type === 'handler' ? [channel.backend.handler] : [])),
  );
  return [...new Set(modules)].sort();
}
