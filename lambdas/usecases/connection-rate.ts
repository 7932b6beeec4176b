/**
 * One client cannot starve everyone (issue 11, class 4): every frame of a connection — raw frames
 * and control messages alike — passes its rate limit before the route acts on it.
 *
 * Two layers, decided by `core/frame-rate.ts`:
 *  1. a token bucket per connection in this execution environment's memory (no I/O): refuses a
 *     flood at once and counts refusals in a row; the one that reaches `closeAfterRefused` closes
 *     the connection (policy violation: a last error frame, then DeleteConnection);
 *  2. where exactness matters (`exact`, on by default), a shared one-second counter in DynamoDB per
 *     connection (at most `burst` frames in any second) and, when `applicationFramesPerSecond` is
 *     set, per application: API Gateway spreads one connection's frames over as many execution
 *     environments as run concurrently, so memory alone would admit the burst once per environment.
 * Refusals are `too_many_requests` error frames (told once a notice period, like a spent plan).
 */
import { LRUCache } from 'lru-cache';
import type { ConnectionRecord } from '../core/connection.ts';
import { GatewayError } from '../core/errors.ts';
import {
  type ConnectionRateConfig,
  type FrameBucket,
  refuseFrame,
  sharedWindow,
  takeFrame,
} from '../core/frame-rate.ts';
import { logger, MetricUnit, metrics } from '../shared/observability.ts';

/** WebSocket close code the issue asks for: 1008, policy violation (RFC 6455 §7.4.1). */
export const POLICY_VIOLATION = 1008;

/** The shared counters (`adapters/frame-counter.ts` FrameCounter). */
export interface SharedFrameCounter {
  take(subject: string, window: { key: number; limit: number; endsAt: number }): Promise<boolean>;
}

/** Ends an abusive connection: sends its last frame, then closes it (`@connections` POST, DELETE). */
export interface ConnectionCloser {
  close(connectionId: string, lastFrame: string, deadline: number): Promise<void>;
}

/** The rate limit every frame of a connection passes first. */
export class ConnectionRate {
  private readonly buckets: LRUCache<string, FrameBucket>;

  constructor(
    private readonly config: ConnectionRateConfig,
    private readonly counter: SharedFrameCounter | undefined,
    private readonly closer: ConnectionCloser,
    private readonly now: () => number = Date.now,
  ) {
    // An idle bucket refills completely within burst / rate seconds; forgetting it then is exact.
    const ttl = Math.ceil((config.burst / config.framesPerSecond) * 1000) + 60_000;
    this.buckets = new LRUCache({ max: 10_000, ttl, ttlResolution: 0, perf: { now } });
  }

  /**
   * Admits one frame of `record`'s connection, or throws: a GatewayError `too_many_requests` when
   * the frame is over the limit (after closing the connection when that made it abusive).
   * `receivedAt` (epoch ms, API Gateway's `requestTimeEpoch`): frames are judged by when the client
   * sent them, not by when an execution environment got to them (a backlog would hide a flood).
   */
  async admit(record: ConnectionRecord, deadline: number, receivedAt?: number): Promise<void> {
    const { connectionId } = record;
    const now = receivedAt ?? this.now();
    const previous = this.buckets.get(connectionId);
    let { verdict, bucket } = takeFrame(previous, this.config, now);
    if (verdict === 'admit' && !(await this.sharedAdmits(record, now))) {
      // Refused after all: it extends the refusals in a row that the local admission reset.
      ({ verdict, bucket } = refuseFrame(
        { ...bucket, refusedInRow: previous?.refusedInRow ?? 0 },
        this.config,
      ));
    }
    this.buckets.set(connectionId, bucket);
    if (verdict === 'admit') return;
    metrics.addMetric('framesRateLimited', MetricUnit.Count, 1);
    const refusal = new GatewayError(
      'too_many_requests',
      `this connection sends more than ${this.config.framesPerSecond} frames per second (burst ${this.config.burst}); frames over the limit are refused`,
      { limit: 'connection' },
    );
    if (verdict !== 'close') throw refusal;
    logger.warn('connection closed for flooding', { refusedInRow: bucket.refusedInRow });
    metrics.addMetric('connectionsClosedForFlooding', MetricUnit.Count, 1);
    await this.close(
      connectionId,
      JSON.stringify({
        type: 'error',
        status: 429,
        error: 'policy_violation',
        closeCode: POLICY_VIOLATION,
        message: `closed: ${bucket.refusedInRow} frames in a row over this connection's rate limit`,
      }),
      deadline,
    );
    throw refusal;
  }

  /** Ends the connection; a failure to do so is logged, the frame is refused all the same. */
  private async close(connectionId: string, lastFrame: string, deadline: number): Promise<void> {
    try {
      await this.closer.close(connectionId, lastFrame, deadline);
    } catch (error) {
      logger.warn('could not close a flooding connection', { error: (error as Error).message });
    }
  }

  /** The exact layer: the connection's (and the application's) shared window counters. */
  private async sharedAdmits(record: ConnectionRecord, now: number): Promise<boolean> {
    if (!this.counter || !this.config.exact) return true;
    const { burst, applicationFramesPerSecond } = this.config;
    if (!(await this.counter.take(`C#${record.connectionId}`, sharedWindow(burst, now)))) return false;
    if (!applicationFramesPerSecond || !record.app) return true;
    return this.counter.take(`A#${record.app.appId}`, sharedWindow(applicationFramesPerSecond, now));
  }
}

/**
 * The route table with the rate limit in front of every route: the one hook `messaging.ts` calls.
 * Without a limiter (tests, tools) the routes are returned as they are.
 */
export function rateLimited<
  K extends string,
  R extends { record: ConnectionRecord; deadline: number; receivedAt?: number },
>(
  rate: Pick<ConnectionRate, 'admit'> | undefined,
  routes: Record<K, (request: R) => Promise<void>>,
): Record<K, (request: R) => Promise<void>> {
  if (!rate) return routes;
  const limited = {} as Record<K, (request: R) => Promise<void>>;
  for (const [key, route] of Object.entries(routes) as [K, (request: R) => Promise<void>][]) {
    limited[key] = async (request) => {
      await rate.admit(request.record, request.deadline, request.receivedAt);
      return route(request);
    };
  }
  return limited;
}
