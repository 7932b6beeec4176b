/**
 * The MSK fan-out of one batch: Kafka records → the WebSocket subscribers of the topic instances
 * they map to. Skip what an earlier attempt already delivered (checkpoints), route and format-check
 * each record, send poison records to the failure destination (never blocking the partition), look
 * up subscribers once per topic instance, post each connection its frames in record order, remove
 * connections that are gone (never one still in its handshake window: `goneVerdict`), checkpoint. A throw makes the event source mapping retry the whole
 * batch: delivery is at-least-once.
 *
 * Decisions (who receives what) are in `core/fanout-plan.ts`; this object orders the I/O around
 * them, with every dependency injected.
 */
import { mapWithConcurrency } from '../core/concurrency.ts';
import type { Subscriber } from '../core/connection.ts';
import {
  type Checkpoint,
  type Delivery,
  deliveredBeforeBy,
  firstRecords,
  type PoisonRecord,
  planBatch,
  type Recipient,
  recipientsOf,
  type TransformJob,
  topicKeysOf,
  topicsWithGone,
  withinMessageLimit,
} from '../core/fanout-plan.ts';
import { type KafkaBinding, type MskEvent, recordsByPartition } from '../core/kafka-records.ts';
import type { TargetResolver } from '../core/target.ts';
import { TtlCache } from '../core/ttl-cache.ts';

/** Subscribers per topic instance, possibly cached (see {@link cachedSubscribers}). */
export interface SubscriberLookup {
  /** Subscribers of each topic instance asked for (an empty list for one with none). */
  subscribers(topicKeys: string[]): Promise<Map<string, Subscriber[]>>;
  /** Forget what is known of these topic instances: a connection in their lists is gone. */
  forget(topicKeys: string[]): void;
}

/** What {@link FanoutBatch} needs: the catalog's Kafka bindings, and the I/O it orders. */
export interface FanoutBatchDependencies {
  /** Kafka topic → channels that read it (`kafkaBindings(catalog)`). */
  bindings: Map<string, KafkaBinding[]>;
  resolver: TargetResolver;
  subscribers: SubscriberLookup;
  /** Checkpoints by `topic-partition` (`adapters/checkpoint-store.ts`). */
  checkpoints: {
    read(partitions: { topic: string; partition: number }[]): Promise<Map<string, Checkpoint>>;
    write(
      checkpoints: { topic: string; partition: number; offset: number; timestamp: number }[],
    ): Promise<void>;
  };
  /**
   * Runs transformed channels' records through their transforms (`adapters/transform-runner.ts`);
   * records a transform threw on come back as poison.
   */
  transforms(
    jobs: Iterable<TransformJob>,
  ): Promise<{ deliveries: Delivery[]; stateWrites: number; poison?: PoisonRecord[] }>;
  /** Posts frames within the recipients' plans (`Deliverer.deliver`). */
  deliverer: {
    deliver(
      recipients: Recipient[],
      deadline: number,
    ): Promise<{
      sent: number;
      /** Answered 410 and removed. */
      gone: string[];
      /** Answered 410 within the handshake window: kept, their frames of this batch dropped. */
      opening?: string[];
      failed: string[];
      throttledEvents: number;
      counterWrites: number;
      lifecycleDroppedEvents?: number;
    }>;
  };
  /** The failure destination of poison records (`adapters/failure-destination.ts`). */
  failures: { send(poison: PoisonRecord[]): Promise<void> };
  /** Epoch milliseconds (record age). */
  now: () => number;
  /** Where poison records, tombstones and dropped deliveries are reported, as they are found. */
  log: {
    warn(message: string, attributes: Record<string, unknown>): void;
    info?(message: string, attributes: Record<string, unknown>): void;
  };
}

/** What a batch came to. Counts are of records, except where said. */
export interface FanoutReport {
  records: number;
  /** Records an earlier attempt of the batch had delivered. */
  skipped: number;
  poison: number;
  /** Records without a value (Kafka tombstones): not events, skipped. */
  tombstones: number;
  /** Records of topics no channel reads. */
  unbound: number;
  /** Deliveries dropped as larger than API Gateway's message limit. */
  oversized: number;
  /** Topic instances delivered to. */
  topics: number;
  /** Connections that had frames. */
  connections: number;
  /** Frames posted. */
  sent: number;
  /** Connections found gone (and removed). */
  gone: number;
  /** Connections that answered 410 while their `$connect` may still run (kept; frames dropped). */
  opening: number;
  /** Connections whose posting failed. */
  failed: number;
  /** Events not sent because a plan was exhausted or a subscription blocked. */
  throttled: number;
  /** Events not sent because their API is BLOCKED or RETIRED (or otherwise takes no traffic). */
  lifecycleDropped: number;
  counterWrites: number;
  transformStateWrites: number;
  /** Time spent in transforms, ms (0 when the batch had none). */
  transformMs: number;
  /** Age of the batch's oldest record when it was delivered, ms (absent for an empty batch). */
  recordAgeMs?: number;
}

/** One MSK batch, fanned out. Build once per execution environment; `run` per invocation. */
export class FanoutBatch {
  constructor(private readonly deps: FanoutBatchDependencies) {}

  /**
   * Delivers `event`'s records, posting until `deadline` (epoch ms). A record that cannot be read,
   * is too large or makes a transform throw is poison (failure destination); a tombstone is skipped;
   * neither ever fails the batch. Throws only when the checkpoints, the transform state, the failure
   * destination or the subscriber lookups fail: the mapping then retries the batch.
   */
  async run(event: MskEvent, deadline: number): Promise<FanoutReport> {
    const { bindings, resolver, subscribers, checkpoints, log } = this.deps;
    const partitions = recordsByPartition(event);
    const records = partitions.reduce((n, p) => n + p.records.length, 0);
    const planned = planBatch(partitions, bindings, resolver);
    // The subscriber lookups need only the records' topics: they run while the checkpoints are read.
    const lookups = subscribers.subscribers(topicKeysOf(planned));
    lookups.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
    const delivered = deliveredBeforeBy(await checkpoints.read(firstRecords(partitions)));
    // Only a batch that comes again after it was delivered has records to skip: plan it once more.
    const plan = partitions.some((p) => p.records.some(delivered))
      ? planBatch(partitions, bindings, resolver, delivered)
      : planned;

    const transformStarted = performance.now();
    const transformed = await this.deps.transforms(plan.transforms.values());
    const transformMs = plan.transforms.size
      ? Math.round((performance.now() - transformStarted) * 10) / 10
      : 0;
    // Too big for API Gateway is poison too: it could never be posted.
    const { deliveries, oversized } = withinMessageLimit([...plan.deliveries, ...transformed.deliveries]);
    // Records are poison before this (over 128 KB); only a transform's output can still be too big.
    if (oversized) log.warn('transform outputs larger than 128 KB dropped', { count: oversized });
    if (plan.tombstones.length) {
      log.info?.('tombstones skipped: a record without a value is not an event', {
        count: plan.tombstones.length,
        records: plan.tombstones.slice(0, 20),
      });
    }

    const poison = [...plan.poison, ...(transformed.poison ?? [])];
    if (poison.length) {
      for (const { record, reasons } of poison) {
        log.warn('poison record', {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          reasons: reasons.map((r) => `${r.channel}: ${r.reason}`),
        });
      }
      await this.deps.failures.send(poison);
    }

    const topicKeys = [...new Set(deliveries.map((d) => d.topicKey))];
    const looked = await lookups;
    const lists = await mapWithConcurrency(
      topicKeys,
      16,
      async (topicKey) =>
        looked.get(topicKey) ?? (await subscribers.subscribers([topicKey])).get(topicKey) ?? [],
    );
    const subscriberLists = new Map(topicKeys.map((key, i) => [key, lists[i] ?? []]));
    const recipients = recipientsOf(deliveries, subscriberLists);
    const outcome = await this.deps.deliverer.deliver(recipients, deadline);
    // Connections found gone leave the cached lists that held them.
    subscribers.forget(topicsWithGone(subscriberLists, outcome.gone));
    await checkpoints.write([...plan.lastSeen.values()]);

    const oldest = Math.min(...partitions.flatMap((p) => p.records.map((r) => r.timestamp)));
    return {
      records,
      skipped: plan.skipped,
      poison: poison.length,
      tombstones: plan.tombstones.length,
      unbound: plan.unbound,
      oversized,
      topics: topicKeys.length,
      connections: recipients.length,
      sent: outcome.sent,
      gone: outcome.gone.length,
      opening: outcome.opening?.length ?? 0,
      failed: outcome.failed.length,
      throttled: outcome.throttledEvents,
      lifecycleDropped: outcome.lifecycleDroppedEvents ?? 0,
      counterWrites: outcome.counterWrites,
      transformStateWrites: transformed.stateWrites,
      transformMs,
      ...(Number.isFinite(oldest) ? { recordAgeMs: this.deps.now() - oldest } : {}),
    };
  }
}

/**
 * Subscriber lists kept for `ttlMs`: a busy topic is looked up once per `ttlMs` instead of once
 * per batch. A new subscriber starts receiving within that time; one found gone is dropped at once
 * (`forget`). Lookups run 16 at a time.
 */
export function cachedSubscribers(
  load: (topicKey: string) => Promise<Subscriber[]>,
  ttlMs: number,
): SubscriberLookup {
  const cache = new TtlCache<Subscriber[]>(ttlMs);
  return {
    async subscribers(topicKeys) {
      const lists = await mapWithConcurrency(topicKeys, 16, (topicKey) =>
        cache.get(topicKey, () => load(topicKey)),
      );
      return new Map(topicKeys.map((key, i) => [key, lists[i] ?? []]));
    },
    forget(topicKeys) {
      for (const topicKey of topicKeys) cache.delete(topicKey);
    },
  };
}
