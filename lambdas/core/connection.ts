import type { Principal } from './auth.ts';
import type { Target } from './target.ts';

/**
 * A live WebSocket connection as the registry keeps it. Written once at `$connect`; the
 * subscription list changes with control messages.
 */
export interface ConnectionRecord {
  connectionId: string;
  /** The tenant-qualified context (`carbon.super/chats/1.0.0`) of the API the connection was opened on. */
  qualifiedContext: string;
  apiId: string;
  channel: string;
  /** The connection's own topic instance, e.g. `/rooms/room1`. */
  topic: string;
  topicKey: string;
  params: Record<string, string>;
  /** Absent for channels open without a token. */
  principal?: Principal;
  /** Epoch milliseconds. */
  connectedAt: number;
  /** Epoch seconds after which the record is garbage (DynamoDB TTL). */
  expiresAt: number;
  /** Topic keys this connection receives from (its own when the channel is sub, plus subscriptions). */
  topicKeys: string[];
  /** The application whose subscription (or subscriptionless access) the connection's events count against. */
  app?: { appId: string; appName: string };
  /** The connection holds one of its plan's concurrent-connection slots (released when it goes). */
  holdsConnectionSlot?: boolean;
}

/** What a fan-out needs per subscriber; kept small so a 1 MB Query page holds thousands. */
export interface Subscriber {
  connectionId: string;
  appId?: string;
  appName?: string;
}

/** The most topics one connection may receive from: keeps `$disconnect` cleanup to one small batch. */
export const MAX_TOPICS_PER_CONNECTION = 20;

/** API Gateway closes every connection after 2 hours; the margin covers clock skew and a late `$disconnect`. */
export const MAX_CONNECTION_SECONDS = 2 * 60 * 60;
export const EXPIRY_MARGIN_SECONDS = 15 * 60;

/**
 * How long after API Gateway received a handshake (`requestContext.connectedAt`) its connection
 * may still be opening. Until `$connect` returns, `@connections` answers 410 GoneException for the
 * id although `$connect` has already registered it; `$connect` may run up to the integration
 * timeout, 29 s at most (API Gateway's quota, and the house function's timeout), and one more
 * second covers the upgrade reply and the clocks of two hosts.
 * Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
 */
export const HANDSHAKE_WINDOW_MS = 30_000;

/** Epoch ms after which a connection accepted at `connectedAt` (epoch ms) is past its handshake. */
export function handshakeWindowEnd(connectedAt: number): number {
  return connectedAt + HANDSHAKE_WINDOW_MS;
}

/**
 * What a 410 GoneException from `@connections` means for a registered connection — the one rule
 * every path that posts to or closes connections follows (fan-out, publish, management, channel
 * handlers):
 *  - `opening`: it was accepted less than HANDSHAKE_WINDOW_MS ago (`connectedAt`, epoch ms), so
 *    its `$connect` may still be running: keep its records; the frame is dropped for it (it gets
 *    what is posted after its socket opened);
 *  - `gone`: older, or not registered (`connectedAt` undefined): its records are stale and go.
 * `now` is epoch ms. A connection that closed during its window is still cleaned up by `$disconnect`
 * (AWS sends it for every accepted connection) or by the first 410 after the window.
 */
export function goneVerdict(connectedAt: number | undefined, now: number): 'opening' | 'gone' {
  if (connectedAt === undefined || !Number.isFinite(connectedAt)) return 'gone';
  return now < handshakeWindowEnd(connectedAt) ? 'opening' : 'gone';
}

export function connectionExpiry(connectedAtMs: number): number {
  return Math.floor(connectedAtMs / 1000) + MAX_CONNECTION_SECONDS + EXPIRY_MARGIN_SECONDS;
}

/**
 * Subscribers of one topic are spread over `shards` partition keys by connection id, so a hot
 * topic's writes and reads land on several DynamoDB partitions instead of one.
 */
export function shardOf(connectionId: string, shards: number): number {
  // FNV-1a: cheap, stable, well spread for short ids.
  let hash = 0x811c9dc5;
  for (let i = 0; i < connectionId.length; i++) {
    hash ^= connectionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

export function connectionKey(connectionId: string): { pk: string; sk: string } {
  return { pk: `C#${connectionId}`, sk: 'C' };
}

export function subscriberKey(
  topicKey: string,
  connectionId: string,
  shards: number,
): { pk: string; sk: string } {
  return { pk: topicPartition(topicKey, shardOf(connectionId, shards)), sk: connectionId };
}

export function topicPartition(topicKey: string, shard: number): string {
  return `T#${topicKey}#${shard}`;
}

export function newConnectionRecord(
  connectionId: string,
  target: Target,
  principal: Principal | undefined,
  connectedAt: number,
  qualifiedContextOfTarget: string,
  access: { app?: { appId: string; appName: string }; holdsConnectionSlot?: boolean } = {},
): ConnectionRecord {
  return {
    connectionId,
    qualifiedContext: qualifiedContextOfTarget,
    apiId: target.api.id,
    channel: target.channel.name,
    topic: target.topic,
    topicKey: target.topicKey,
    params: target.params,
    ...(principal ? { principal } : {}),
    connectedAt,
    expiresAt: connectionExpiry(connectedAt),
    topicKeys: target.channel.sub ? [target.topicKey] : [],
    ...(access.app ? { app: access.app } : {}),
    ...(access.holdsConnectionSlot ? { holdsConnectionSlot: true } : {}),
  };
}
