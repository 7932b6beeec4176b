/**
 * Aggregate state of a transform, one document per (group, window), and applying a batch's records
 * to it. Exact across retries: the document remembers, per Kafka partition, the last offset it took
 * in and the outputs of the records it took in last — a retried batch re-emits those outputs
 * instead of counting the records twice.
 */
import {
  type AggState,
  addEvent,
  aggregatedAttributes,
  combine,
  type Event,
  emptyAgg,
  groupOf,
  passes,
  project,
} from './engine.ts';
import type { TransformDef } from './siddhi.ts';

export interface StateDocument {
  version: number;
  /** Last offset taken in, per `topic-partition`. */
  applied: Record<string, number>;
  /** Outputs of the records taken in last, per `topic-partition` (for a retried batch). */
  recent: Record<string, { offset: number; event: Event }[]>;
  /** Since the stream began, or the tumbling window's. */
  agg?: AggState;
  /** A sliding window's buckets, by bucket number. */
  buckets?: Record<string, AggState>;
}

/** One record's events, where it came from, and its place in the batch. */
export interface TransformItem {
  partitionKey: string;
  offset: number;
  timestamp: number;
  events: Event[];
  /** Position in the batch, to put outputs back in record order. */
  order: number;
}

export interface TransformOutput {
  order: number;
  event: Event;
}

/** A record the transform threw on: it is left out (poison), the others go on. */
export interface TransformFailure {
  order: number;
  reason: string;
}

const reasonOf = (error: unknown) =>
  `the transform failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`.slice(
    0,
    500,
  );

/** Sliding windows keep this many buckets: a window of 1 min is kept to 3 s. */
export const SLIDING_BUCKETS = 20;

export const emptyDocument = (): StateDocument => ({ version: 0, applied: {}, recent: {} });

/** The state document an event's aggregates live in: group and window. */
export function stateKeyOf(transform: TransformDef, event: Event, timestamp: number): string {
  const group = groupOf(transform, event);
  if (!transform.window) return `${group}|all`;
  if (transform.window.type === 'tumbling') return `${group}|t${Math.floor(timestamp / transform.window.ms)}`;
  return `${group}|s`;
}

/** When a state document may be deleted (epoch seconds): long after its window. */
export function stateExpiry(transform: TransformDef, key: string, now: number): number | undefined {
  if (!transform.window) return undefined;
  const day = 86_400;
  if (transform.window.type === 'tumbling') {
    const window = Number(key.split('|t').pop());
    return Math.floor(((window + 1) * transform.window.ms) / 1000) + day;
  }
  return Math.floor((now + transform.window.ms) / 1000) + day;
}

/**
 * Apply items (all of one state key, in batch order) to a document; new document and outputs. An
 * item the transform throws on changes nothing and is reported in `failures`; the others apply.
 */
export function applyItems(
  transform: TransformDef,
  document: StateDocument,
  items: TransformItem[],
): { document: StateDocument; outputs: TransformOutput[]; changed: boolean; failures: TransformFailure[] } {
  const attributes = aggregatedAttributes(transform);
  const next: StateDocument = {
    version: document.version + 1,
    applied: { ...document.applied },
    recent: { ...document.recent },
    ...(document.agg ? { agg: document.agg } : {}),
    ...(document.buckets ? { buckets: { ...document.buckets } } : {}),
  };
  const outputs: TransformOutput[] = [];
  const fresh = new Map<string, { offset: number; event: Event }[]>();
  const failures: TransformFailure[] = [];
  let changed = false;
  for (const item of items) {
    const applied = document.applied[item.partitionKey];
    if (applied !== undefined && item.offset <= applied) {
      // Taken in by an earlier attempt of this batch: its outputs again, nothing counted twice.
      for (const earlier of document.recent[item.partitionKey] ?? []) {
        if (earlier.offset === item.offset) outputs.push({ order: item.order, event: earlier.event });
      }
      continue;
    }
    // Applied to copies: an item that throws half-way leaves the document as it was.
    const agg = next.agg;
    const buckets = next.buckets ? { ...next.buckets } : undefined;
    try {
      const produced = applyItem(transform, next, item, attributes);
      changed = true;
      for (const event of produced) {
        outputs.push({ order: item.order, event });
        const list = fresh.get(item.partitionKey) ?? [];
        list.push({ offset: item.offset, event });
        fresh.set(item.partitionKey, list);
      }
      next.applied[item.partitionKey] = Math.max(next.applied[item.partitionKey] ?? -1, item.offset);
    } catch (error) {
      if (agg) next.agg = agg;
      else delete next.agg;
      if (buckets) next.buckets = buckets;
      else delete next.buckets;
      failures.push({ order: item.order, reason: reasonOf(error) });
    }
  }
  for (const [partitionKey, list] of fresh) next.recent[partitionKey] = list;
  return { document: next, outputs, changed, failures };
}

/** One item's events into `next` (its aggregates advanced); their outputs. May throw. */
function applyItem(
  transform: TransformDef,
  next: StateDocument,
  item: TransformItem,
  attributes: string[],
): Event[] {
  const produced: Event[] = [];
  for (const event of item.events) {
    let agg: AggState;
    if (transform.window?.type === 'sliding') {
      const size = transform.window.ms / SLIDING_BUCKETS;
      const bucket = Math.floor(item.timestamp / size);
      const buckets = next.buckets ?? {};
      buckets[bucket] = addEvent(buckets[bucket] ?? emptyAgg(), event, attributes);
      for (const key of Object.keys(buckets))
        if (Number(key) <= bucket - SLIDING_BUCKETS) delete buckets[key];
      next.buckets = buckets;
      agg = combine(
        Object.entries(buckets)
          .filter(([key]) => Number(key) > bucket - SLIDING_BUCKETS)
          .map(([, s]) => s),
      );
    } else {
      next.agg = addEvent(next.agg ?? emptyAgg(), event, attributes);
      agg = next.agg;
    }
    produced.push(project(transform, event, agg));
  }
  return produced;
}

/**
 * A stateless transform's outputs: each event that passes the filter, projected, in batch order.
 * An item the transform throws on gives no output and is added to `failures` when given.
 */
export function statelessOutputs(
  transform: TransformDef,
  items: TransformItem[],
  failures?: TransformFailure[],
): TransformOutput[] {
  return items.flatMap((item) => {
    try {
      return item.events
        .filter((event) => passes(transform, event))
        .map((event) => ({ order: item.order, event: project(transform, event) }));
    } catch (error) {
      if (!failures) throw error;
      failures.push({ order: item.order, reason: reasonOf(error) });
      return [];
    }
  });
}

/**
 * A stateful transform's work per state document: each record's events that pass the filter, split
 * by the group and window they count in (see {@link stateKeyOf}); a record may feed several. An item
 * the filter throws on is left out and added to `failures` when given.
 */
export function itemsByState(
  transform: TransformDef,
  items: TransformItem[],
  failures?: TransformFailure[],
): Map<string, TransformItem[]> {
  const byState = new Map<string, TransformItem[]>();
  for (const item of items) {
    const perKey = new Map<string, TransformItem>();
    try {
      for (const event of item.events) {
        if (!passes(transform, event)) continue;
        const key = stateKeyOf(transform, event, item.timestamp);
        const part = perKey.get(key) ?? { ...item, events: [] };
        part.events.push(event);
        perKey.set(key, part);
      }
    } catch (error) {
      if (!failures) throw error;
      failures.push({ order: item.order, reason: reasonOf(error) });
      continue;
    }
    for (const [key, part] of perKey) byState.set(key, [...(byState.get(key) ?? []), part]);
  }
  return byState;
}
