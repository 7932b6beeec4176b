/**
 * What a batch of Kafka records turns into, before any I/O: for each record (partition by partition,
 * in offset order) the topic instances it reaches and their payloads, the poison records, which
 * records an earlier attempt already delivered (checkpoints), and then — once the subscribers are
 * known — the ordered frames each connection receives.
 */
import { requireLifecycleAllowsConnect } from './auth.ts';
import type { ApiDef, LifecycleState, MessageFormat } from './catalog.ts';
import type { Subscriber } from './connection.ts';
import type { DecodedRecord, KafkaBinding, Routed } from './kafka-records.ts';
import { routeRecord } from './kafka-records.ts';
import type { TargetResolver } from './target.ts';
import { integralAttributes, mapOutput } from './transform/engine.ts';
import type { TransformItem, TransformOutput } from './transform/state.ts';

/** One payload for one topic instance: what a record (or a transform's output) becomes. */
export interface Delivery {
  topicKey: string;
  api: ApiDef;
  payload: string;
  format: MessageFormat;
  coalesce: boolean;
}

/** A record that cannot be delivered: it goes to the failure destination, and the partition goes on. */
export interface PoisonRecord {
  record: DecodedRecord;
  /** Why it could not be delivered, per channel that reads its topic. */
  reasons: { api: string; channel: string; reason: string }[];
}

/** Records for a transformed channel, to run through its transform before delivery. */
export interface TransformJob {
  binding: KafkaBinding;
  /** Each with the record it came from: a record its transform throws on becomes poison. */
  items: (TransformItem & { topicKey: string; record: DecodedRecord })[];
}

/** Where a record was: what logs and failure records name. */
export interface RecordPosition {
  topic: string;
  partition: number;
  offset: number;
}

/** Everything a batch becomes before the subscribers are known (see {@link planBatch}). */
export interface BatchPlan {
  deliveries: Delivery[];
  transforms: Map<string, TransformJob>;
  poison: PoisonRecord[];
  /** Records of topics no channel reads (a stale mapping). */
  unbound: number;
  /** Records a retried batch had already delivered. */
  skipped: number;
  /** Records without a value (tombstones): not events, skipped and counted. */
  tombstones: RecordPosition[];
  /** The newest record seen per partition: the checkpoint once the batch is delivered. */
  lastSeen: Map<string, { topic: string; partition: number; offset: number; timestamp: number }>;
}

/**
 * Records larger than this are poison before any channel reads them: API Gateway could not post
 * them (128 KB per message), and it bounds what a parser is given.
 */
export const MAX_RECORD_BYTES = 128 * 1024;

/**
 * Plans a batch: each record (partitions in the order given, each in offset order) goes to every
 * channel that reads its topic. A record a channel cannot take (format, parameters, or anything
 * that throws while it is read) is poison for that channel; the others still receive it. A record
 * over {@link MAX_RECORD_BYTES} is poison for every channel. A tombstone is no event: counted and
 * skipped. Records `alreadyDelivered` are counted and skipped. All of them still advance the
 * partition's checkpoint. Never throws for a record.
 */
export function planBatch(
  partitions: { partitionKey: string; records: DecodedRecord[] }[],
  bindings: Map<string, KafkaBinding[]>,
  resolver: TargetResolver,
  alreadyDelivered: (record: DecodedRecord) => boolean = () => false,
): BatchPlan {
  const plan: BatchPlan = {
    deliveries: [],
    transforms: new Map(),
    poison: [],
    unbound: 0,
    skipped: 0,
    tombstones: [],
    lastSeen: new Map(),
  };
  let order = 0;
  for (const { partitionKey, records } of partitions) {
    for (const record of records) {
      plan.lastSeen.set(partitionKey, {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        timestamp: record.timestamp,
      });
      if (alreadyDelivered(record)) {
        plan.skipped++;
        continue;
      }
      if (record.tombstone) {
        plan.tombstones.push({ topic: record.topic, partition: record.partition, offset: record.offset });
        continue;
      }
      const readers = bindings.get(record.topic);
      if (!readers?.length) {
        plan.unbound++;
        continue;
      }
      const reasons: PoisonRecord['reasons'] = [];
      if (record.value.length > MAX_RECORD_BYTES) {
        const reason = `the value is ${record.value.length} bytes, over the ${MAX_RECORD_BYTES}-byte limit of one WebSocket message`;
        for (const binding of readers)
          reasons.push({ api: binding.api.id, channel: binding.channel.name, reason });
        plan.poison.push({ record, reasons });
        continue;
      }
      for (const binding of readers) {
        const routed = readRecord(record, binding, resolver);
        if (!routed.ok) {
          reasons.push({ api: binding.api.id, channel: binding.channel.name, reason: routed.reason });
          continue;
        }
        const target = routed;
        if (routed.events) {
          const key = `${binding.api.id}|${binding.channel.name}`;
          const job = plan.transforms.get(key) ?? { binding, items: [] };
          job.items.push({
            partitionKey,
            offset: record.offset,
            timestamp: record.timestamp,
            events: routed.events,
            order: order++,
            topicKey: target.topicKey,
            record,
          });
          plan.transforms.set(key, job);
          continue;
        }
        plan.deliveries.push({
          topicKey: target.topicKey,
          api: binding.api,
          payload: routed.payload,
          format: binding.channel.format,
          coalesce: binding.backend.coalesce,
        });
      }
      if (reasons.length) plan.poison.push({ record, reasons });
    }
  }
  return plan;
}

/** {@link routeRecord} and the topic instance, with anything thrown made a reason. */
function readRecord(
  record: DecodedRecord,
  binding: KafkaBinding,
  resolver: TargetResolver,
): (Extract<Routed, { ok: true }> & { topicKey: string }) | Extract<Routed, { ok: false }> {
  try {
    const routed = routeRecord(record, binding);
    if (!routed.ok) return routed;
    return { ...routed, topicKey: resolver.topicFor(binding.api, binding.channel, routed.params).topicKey };
  } catch (error) {
    return { ok: false, reason: `the record could not be read: ${describeError(error)}` };
  }
}

/** An exception's message, for a failure record (never its stack). */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/**
 * A transformed channel's outputs as deliveries, in record order, each to the topic instance of the
 * record it came from, written in the channel's format.
 */
export function transformedDeliveries(
  job: { binding: KafkaBinding; items: { order: number; topicKey: string }[] },
  outputs: TransformOutput[],
): Delivery[] {
  const { binding, items } = job;
  const transform = binding.backend.transform;
  if (!transform) return [];
  const topicOf = new Map(items.map((item) => [item.order, item.topicKey]));
  const integral = integralAttributes(transform);
  return [...outputs]
    .sort((a, b) => a.order - b.order)
    .map((output) => ({
      topicKey: topicOf.get(output.order) as string,
      api: binding.api,
      payload: mapOutput(binding.channel.format, [output.event], integral),
      format: binding.channel.format,
      coalesce: binding.backend.coalesce,
    }));
}

// --- checkpoints -----------------------------------------------------------------------------------

/** The newest record of a partition that a batch delivered: offset and timestamp (epoch ms). */
export interface Checkpoint {
  offset: number;
  timestamp: number;
}

/** `topic-partition`: how MSK events group records, and how checkpoints are looked up. */
export function partitionKeyOf(record: { topic: string; partition: number }): string {
  return `${record.topic}-${record.partition}`;
}

/**
 * A record was delivered by an earlier attempt of this batch. The timestamp guards against a topic
 * that was deleted and created again, whose offsets start over.
 */
export function deliveredBefore(
  checkpoint: Checkpoint | undefined,
  record: { offset: number; timestamp: number },
): boolean {
  return (
    checkpoint !== undefined && record.offset <= checkpoint.offset && record.timestamp <= checkpoint.timestamp
  );
}

/** The predicate {@link planBatch} skips records with, from the checkpoints by `topic-partition`. */
export function deliveredBeforeBy(
  checkpoints: Map<string, Checkpoint>,
): (record: { topic: string; partition: number; offset: number; timestamp: number }) => boolean {
  return (record) => deliveredBefore(checkpoints.get(partitionKeyOf(record)), record);
}

/** The first record of each partition: it names the topic and partition whose checkpoint to read. */
export function firstRecords<R>(partitions: { records: R[] }[]): R[] {
  return partitions.flatMap((p) => (p.records[0] ? [p.records[0]] : []));
}

// --- subscribers and frames ------------------------------------------------------------------------

/** Every topic instance a plan may deliver to: direct deliveries and transformed records alike. */
export function topicKeysOf(plan: Pick<BatchPlan, 'deliveries' | 'transforms'>): string[] {
  const keys = new Set(plan.deliveries.map((d) => d.topicKey));
  for (const job of plan.transforms.values()) for (const item of job.items) keys.add(item.topicKey);
  return [...keys];
}

/**
 * Deliveries that fit in one API Gateway message, and how many did not: those could never be
 * posted, so they are dropped (counted, not retried).
 */
export function withinMessageLimit(deliveries: Delivery[]): { deliveries: Delivery[]; oversized: number } {
  const fitting = deliveries.filter((d) => Buffer.byteLength(d.payload) <= MAX_MESSAGE_BYTES);
  return { deliveries: fitting, oversized: deliveries.length - fitting.length };
}

/**
 * Whether an API in lifecycle `state` gets deliveries: the same rule as a handshake
 * (`requireLifecycleAllowsConnect`: PUBLISHED and DEPRECATED only). WSO2 cuts the live connections
 * of a BLOCKED API and undeploys a RETIRED one, so nothing more reaches their subscribers.
 */
export function receivesDeliveries(api: ApiDef, state: LifecycleState): boolean {
  try {
    requireLifecycleAllowsConnect(api, state);
    return true;
  } catch {
    return false;
  }
}

/** A connection to post frames to, with the API and application its events count against. */
export interface Recipient {
  connectionId: string;
  api: ApiDef;
  /** Absent for connections on open channels: nothing to charge. */
  app?: { appId: string; appName: string };
  frames: Frame[];
}

/**
 * Who receives what: the frames of each subscribed connection (see {@link framesPerConnection}),
 * with the API of the first topic instance (in delivery order) that reached the connection and the
 * application of that subscription.
 */
export function recipientsOf(deliveries: Delivery[], subscribers: Map<string, Subscriber[]>): Recipient[] {
  const topicKeys = [...new Set(deliveries.map((d) => d.topicKey))];
  const apiOfTopic = new Map(deliveries.map((d) => [d.topicKey, d.api]));
  const owners = new Map<string, Omit<Recipient, 'frames'>>();
  for (const topicKey of topicKeys) {
    const api = apiOfTopic.get(topicKey);
    for (const subscriber of subscribers.get(topicKey) ?? []) {
      if (!api || owners.has(subscriber.connectionId)) continue;
      owners.set(subscriber.connectionId, {
        connectionId: subscriber.connectionId,
        api,
        ...(subscriber.appId ? { app: { appId: subscriber.appId, appName: subscriber.appName ?? '' } } : {}),
      });
    }
  }
  const connectionIds = new Map(
    topicKeys.map((key) => [key, (subscribers.get(key) ?? []).map((s) => s.connectionId)]),
  );
  return [...framesPerConnection(deliveries, connectionIds)].flatMap(([connectionId, frames]) => {
    const owner = owners.get(connectionId);
    return owner ? [{ ...owner, frames }] : [];
  });
}

/** Topic instances whose subscriber lists hold a connection found gone: their cached lists are stale. */
export function topicsWithGone(subscribers: Map<string, Subscriber[]>, gone: string[]): string[] {
  if (!gone.length) return [];
  const goneIds = new Set(gone);
  return [...subscribers].flatMap(([topicKey, list]) =>
    list.some((s) => goneIds.has(s.connectionId)) ? [topicKey] : [],
  );
}

/** One frame for one connection, and how many events (records) it carries: what plans count. */
export interface Frame {
  data: string;
  events: number;
}

/** API Gateway's limit on one message (PostToConnection data). */
export const MAX_MESSAGE_BYTES = 128 * 1024;

/**
 * Frames per connection, in record order. Consecutive deliveries that allow coalescing and share a
 * format become one frame (JSON array, one Siddhi `<events>` document, or lines of text) while the
 * frame stays within API Gateway's message limit.
 */
export function framesPerConnection(
  deliveries: Delivery[],
  subscribers: Map<string, string[]>,
): Map<string, Frame[]> {
  const pending = new Map<string, Delivery[]>();
  for (const delivery of deliveries) {
    for (const connectionId of subscribers.get(delivery.topicKey) ?? []) {
      const queue = pending.get(connectionId);
      if (queue) queue.push(delivery);
      else pending.set(connectionId, [delivery]);
    }
  }
  const frames = new Map<string, Frame[]>();
  for (const [connectionId, queue] of pending) frames.set(connectionId, coalesceQueue(queue));
  return frames;
}

function coalesceQueue(queue: Delivery[]): Frame[] {
  const out: Frame[] = [];
  let group: Delivery[] = [];
  let groupBytes = 0;
  const flush = () => {
    if (group.length === 1) out.push({ data: (group[0] as Delivery).payload, events: 1 });
    else if (group.length > 1) out.push(...mergeFrames(group));
    group = [];
    groupBytes = 0;
  };
  for (const delivery of queue) {
    const size = Buffer.byteLength(delivery.payload);
    const fits = groupBytes + size + 64 <= MAX_MESSAGE_BYTES;
    const joins =
      delivery.coalesce && group.length > 0 && (group[0] as Delivery).format === delivery.format && fits;
    if (!joins) flush();
    if (delivery.coalesce) {
      group.push(delivery);
      groupBytes += size;
    } else {
      out.push({ data: delivery.payload, events: 1 });
    }
  }
  flush();
  return out;
}

const EVENTS_DOCUMENT = /^\s*(?:<\?xml[^>]*\?>\s*)?<events>([\s\S]*)<\/events>\s*$/;

function mergeFrames(group: Delivery[]): Frame[] {
  const format = (group[0] as Delivery).format;
  const payloads = group.map((d) => d.payload);
  const events = group.length;
  switch (format) {
    case 'json':
      return [{ data: `[${payloads.join(',')}]`, events }];
    case 'text':
      return [{ data: payloads.join('\n'), events }];
    case 'xml': {
      const bodies = payloads.map((p) => EVENTS_DOCUMENT.exec(p)?.[1]);
      // Siddhi's XML mapping carries several events in one <events> document; others go one by one.
      return bodies.every((b) => b !== undefined)
        ? [{ data: `<events>${bodies.join('')}</events>`, events }]
        : payloads.map((data) => ({ data, events: 1 }));
    }
  }
}
