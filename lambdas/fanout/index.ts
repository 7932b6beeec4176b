/**
 * The MSK-triggered fan-out: Kafka records → the WebSocket subscribers of the topic instances
 * they map to. Per batch: skip what an earlier attempt already delivered (checkpoints), route and
 * format-check each record, send poison records to the failure destination (never blocking the
 * partition), look up subscribers once per topic instance, post each connection its frames in
 * record order, remove connections that are gone, checkpoint. A throw makes the event source
 * mapping retry the whole batch: delivery is at-least-once.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { CheckpointStore, deliveredBefore } from '../adapters/checkpoint-store.ts';
import type { Recipient } from '../adapters/delivery.ts';
import { FailureDestination } from '../adapters/failure-destination.ts';
import { runTransforms } from '../adapters/transform-runner.ts';
import { TransformStateStore } from '../adapters/transform-state-store.ts';
import { mapWithConcurrency } from '../core/concurrency.ts';
import type { Subscriber } from '../core/connection.ts';
import { type BatchPlan, framesPerConnection, MAX_MESSAGE_BYTES, planBatch } from '../core/fanout-plan.ts';
import {
  type DecodedRecord,
  kafkaBindings,
  type MskEvent,
  recordsByPartition,
} from '../core/kafka-records.ts';
import { createTargetResolver } from '../core/target.ts';
import { TtlCache } from '../core/ttl-cache.ts';
import { catalog } from '../shared/catalog.ts';
import { ENV, RUNTIME_ENV } from '../shared/env.ts';
import { flushMetrics, logger, MetricUnit, metrics } from '../shared/observability.ts';
import {
  accessDirectory,
  connectionStore,
  connectionsApi,
  deliverer,
  documentClient,
  throttleStore,
} from '../shared/services.ts';

const store = connectionStore();
const delivery = deliverer(store, connectionsApi(), throttleStore(), accessDirectory());
const checkpoints = new CheckpointStore(
  documentClient(),
  ENV.streamStateTable.read(),
  RUNTIME_ENV.functionName.read(),
);
const transformState = new TransformStateStore(documentClient(), ENV.streamStateTable.read());
const failures = new FailureDestination(new SQSClient({}), ENV.failureQueueUrl.read(), 'streamgate-fanout');
const resolver = createTargetResolver(catalog);
const bindings = kafkaBindings(catalog);
/**
 * Subscribers of a topic instance, kept for SUBSCRIBER_CACHE_MS (default 1 s): a busy topic is
 * looked up once a second instead of once per batch. A new subscriber starts receiving within
 * that time; one found gone is dropped at once.
 */
const subscriberCache = new TtlCache<Subscriber[]>(ENV.subscriberCacheMs.read());

function subscribersOf(topicKeys: string[]): Promise<Map<string, Subscriber[]>> {
  return mapWithConcurrency(topicKeys, 16, (topicKey) =>
    subscriberCache.get(topicKey, () => store.subscribers(topicKey)),
  ).then((lists) => new Map(topicKeys.map((key, i) => [key, lists[i] ?? []])));
}

function topicKeysOf(plan: BatchPlan): string[] {
  const keys = new Set(plan.deliveries.map((d) => d.topicKey));
  for (const job of plan.transforms.values()) for (const item of job.items) keys.add(item.topicKey);
  return [...keys];
}

export const handler = async (event: MskEvent, context: Context): Promise<void> => {
  const deadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - 2_000);
  const partitions = recordsByPartition(event);
  const recordCount = partitions.reduce((n, p) => n + p.records.length, 0);
  const planned = planBatch(partitions, bindings, resolver);
  // The subscriber lookups need only the records' topics: they run while the checkpoints are read.
  const lookups = subscribersOf(topicKeysOf(planned));
  lookups.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
  const seen = await checkpoints.read(partitions.flatMap((p) => (p.records[0] ? [p.records[0]] : [])));
  const delivered = (record: DecodedRecord) =>
    deliveredBefore(seen.get(`${record.topic}-${record.partition}`), record);
  // Only a batch that comes again after it was delivered has records to skip: plan it once more.
  const plan = partitions.some((p) => p.records.some(delivered))
    ? planBatch(partitions, bindings, resolver, delivered)
    : planned;

  const transformStarted = performance.now();
  const transformed = await runTransforms(plan.transforms.values(), transformState);
  const transformMs = plan.transforms.size ? Math.round((performance.now() - transformStarted) * 10) / 10 : 0;
  const all = [...plan.deliveries, ...transformed.deliveries];
  // Too big for API Gateway is poison too: it could never be posted.
  const deliveries = all.filter((d) => Buffer.byteLength(d.payload) <= MAX_MESSAGE_BYTES);
  const oversized = all.length - deliveries.length;
  if (oversized) logger.warn('records larger than 128 KB dropped', { count: oversized });

  if (plan.poison.length) {
    for (const { record, reasons } of plan.poison) {
      logger.warn('poison record', {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        reasons: reasons.map((r) => `${r.channel}: ${r.reason}`),
      });
    }
    await failures.send(plan.poison);
  }

  const topicKeys = [...new Set(deliveries.map((d) => d.topicKey))];
  const looked = await lookups;
  const subscriberLists = await mapWithConcurrency(
    topicKeys,
    16,
    async (topicKey) => looked.get(topicKey) ?? (await subscribersOf([topicKey])).get(topicKey) ?? [],
  );
  const apiOfTopic = new Map(deliveries.map((d) => [d.topicKey, d.api]));
  const owners = new Map<string, Omit<Recipient, 'frames'>>();
  topicKeys.forEach((topicKey, i) => {
    const api = apiOfTopic.get(topicKey);
    for (const subscriber of subscriberLists[i] ?? []) {
      if (!api || owners.has(subscriber.connectionId)) continue;
      owners.set(subscriber.connectionId, {
        connectionId: subscriber.connectionId,
        api,
        ...(subscriber.appId ? { app: { appId: subscriber.appId, appName: subscriber.appName ?? '' } } : {}),
      });
    }
  });
  const subscribers = new Map(
    topicKeys.map((key, i) => [key, (subscriberLists[i] ?? []).map((s) => s.connectionId)]),
  );
  const frames = framesPerConnection(deliveries, subscribers);
  const report = await delivery.deliver(
    [...frames].flatMap(([connectionId, queue]) => {
      const owner = owners.get(connectionId);
      return owner ? [{ ...owner, frames: queue }] : [];
    }),
    deadline,
  );

  // Connections found gone leave the cached lists that held them.
  if (report.gone.length) {
    const gone = new Set(report.gone);
    topicKeys.forEach((topicKey, i) => {
      if ((subscriberLists[i] ?? []).some((s) => gone.has(s.connectionId))) subscriberCache.delete(topicKey);
    });
  }
  await checkpoints.write([...plan.lastSeen.values()]);

  const oldest = Math.min(...partitions.flatMap((p) => p.records.map((r) => r.timestamp)));
  metrics.addMetric('kafkaRecords', MetricUnit.Count, recordCount);
  metrics.addMetric('kafkaDeliveries', MetricUnit.Count, report.sent);
  if (plan.poison.length) metrics.addMetric('poisonRecords', MetricUnit.Count, plan.poison.length);
  if (plan.skipped) metrics.addMetric('redeliveredRecordsSkipped', MetricUnit.Count, plan.skipped);
  if (report.gone.length) metrics.addMetric('staleConnectionsRemoved', MetricUnit.Count, report.gone.length);
  if (report.failed.length) metrics.addMetric('deliveriesFailed', MetricUnit.Count, report.failed.length);
  if (report.throttledEvents) metrics.addMetric('eventsThrottled', MetricUnit.Count, report.throttledEvents);
  if (Number.isFinite(oldest)) metrics.addMetric('recordAgeMs', MetricUnit.Milliseconds, Date.now() - oldest);
  flushMetrics();
  logger.info('batch delivered', {
    records: recordCount,
    skipped: plan.skipped,
    poison: plan.poison.length,
    unbound: plan.unbound,
    topics: topicKeys.length,
    connections: frames.size,
    sent: report.sent,
    gone: report.gone.length,
    failed: report.failed.length,
    throttled: report.throttledEvents,
    counterWrites: report.counterWrites,
    transformStateWrites: transformed.stateWrites,
    transformMs,
  });
};
