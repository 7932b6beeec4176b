/**
 * What a batch of Kafka records turns into, before any I/O: for each record (partition by partition,
 * in offset order) the topic instances it reaches and their payloads, the poison records, and then
 * — once the subscribers are known — the ordered frames each connection receives.
 */
import type { ApiDef, MessageFormat } from './catalog.ts';
import type { DecodedRecord, KafkaBinding } from './kafka-records.ts';
import { routeRecord } from './kafka-records.ts';
import type { TargetResolver } from './target.ts';
import type { TransformItem } from './transform/state.ts';

export interface Delivery {
  topicKey: string;
  api: ApiDef;
  payload: string;
  format: MessageFormat;
  coalesce: boolean;
}

export interface PoisonRecord {
  record: DecodedRecord;
  /** Why it could not be delivered, per channel that reads its topic. */
  reasons: { api: string; channel: string; reason: string }[];
}

/** Records for a transformed channel, to run through its transform before delivery. */
export interface TransformJob {
  binding: KafkaBinding;
  items: (TransformItem & { topicKey: string })[];
}

export interface BatchPlan {
  deliveries: Delivery[];
  transforms: Map<string, TransformJob>;
  poison: PoisonRecord[];
  /** Records of topics no channel reads (a stale mapping). */
  unbound: number;
  /** Records a retried batch had already delivered. */
  skipped: number;
  /** The newest record seen per partition: the checkpoint once the batch is delivered. */
  lastSeen: Map<string, { topic: string; partition: number; offset: number; timestamp: number }>;
}

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
      const readers = bindings.get(record.topic);
      if (!readers?.length) {
        plan.unbound++;
        continue;
      }
      const reasons: PoisonRecord['reasons'] = [];
      for (const binding of readers) {
        const routed = routeRecord(record, binding);
        if (!routed.ok) {
          reasons.push({ api: binding.api.id, channel: binding.channel.name, reason: routed.reason });
          continue;
        }
        const target = resolver.topicFor(binding.api, binding.channel, routed.params);
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
