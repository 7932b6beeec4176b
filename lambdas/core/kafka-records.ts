/**
 * Kafka records as the MSK event source mapping delivers them, and how one becomes a message for a
 * topic instance of a channel: decoding (base64 key and value, headers as byte arrays, optional
 * key), parameters from the key, a header or a field of the value, and the format check that tells
 * a good record from a poison one.
 */
import { isUtf8 } from 'node:buffer';
import type { ApiDef, Catalog, ChannelDef, KafkaBackend, KafkaParameterSource } from './catalog.ts';
import { isValidParameterValue } from './channel-template.ts';
import { type Event, mapInput } from './transform/engine.ts';
import { isWellFormedXml } from './xml.ts';

/** One record of an MSK event, exactly as AWS sends it. */
export interface MskRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME';
  key?: string | null;
  value?: string | null;
  headers?: Record<string, number[]>[];
}

export interface MskEvent {
  eventSource: 'aws:kafka' | 'SelfManagedKafka';
  eventSourceArn?: string;
  bootstrapServers?: string;
  /** Grouped by `topic-partition`, each group in offset order. */
  records: Record<string, MskRecord[]>;
}

export interface DecodedRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | undefined;
  /** The value's bytes (empty for a tombstone). */
  value: Buffer;
  /**
   * The record has no value (null or absent: a Kafka tombstone, which marks a key deleted in a
   * compacted topic) or an empty one. Not an event: never delivered, never charged.
   */
  tombstone?: boolean;
  /** Header values as text; a repeated header keeps its last value. */
  headers: Record<string, string>;
}

/** A record as the fan-out reads it: key and value decoded from base64, headers as text. */
export function decodeRecord(record: MskRecord): DecodedRecord {
  const headers: Record<string, string> = {};
  for (const header of record.headers ?? []) {
    for (const [name, bytes] of Object.entries(header)) headers[name] = Buffer.from(bytes).toString('utf8');
  }
  return {
    topic: record.topic,
    partition: record.partition,
    offset: Number(record.offset),
    timestamp: Number(record.timestamp),
    key: record.key === undefined || record.key === null ? undefined : Buffer.from(record.key, 'base64'),
    value: record.value ? Buffer.from(record.value, 'base64') : Buffer.alloc(0),
    tombstone: !record.value,
    headers,
  };
}

/** Records of an event, partition by partition, each partition in offset order. */
export function recordsByPartition(event: MskEvent): { partitionKey: string; records: DecodedRecord[] }[] {
  return Object.entries(event.records ?? {}).map(([partitionKey, records]) => ({
    partitionKey,
    records: records.map(decodeRecord).sort((a, b) => a.offset - b.offset),
  }));
}

/** A channel fed by a Kafka topic. */
export interface KafkaBinding {
  api: ApiDef;
  channel: ChannelDef;
  backend: KafkaBackend;
}

/** Kafka topic → every channel (of any API or tenant) that reads it: publish-only channels only write. */
export function kafkaBindings(catalog: Catalog): Map<string, KafkaBinding[]> {
  const bindings = new Map<string, KafkaBinding[]>();
  for (const api of catalog.apis) {
    for (const channel of api.channels) {
      if (channel.backend.type !== 'kafka' || !channel.sub) continue;
      const list = bindings.get(channel.backend.topic) ?? [];
      list.push({ api, channel, backend: channel.backend });
      bindings.set(channel.backend.topic, list);
    }
  }
  return bindings;
}

export type Routed =
  | { ok: true; params: Record<string, string>; payload: string; events?: Event[] }
  | { ok: false; reason: string };

/**
 * Where a record goes on one channel, and what the subscribers receive. A record whose value does
 * not parse as the channel's format, or whose parameters cannot be filled, is poison.
 */
export function routeRecord(record: DecodedRecord, binding: KafkaBinding): Routed {
  const { channel, backend } = binding;
  if (!isUtf8(record.value))
    return { ok: false, reason: `the value is not UTF-8 text (${channel.format} expected)` };
  const text = record.value.toString('utf8');
  let json: unknown;
  let jsonParsed = false;
  const parseJson = (): boolean => {
    if (jsonParsed) return json !== undefined;
    jsonParsed = true;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return json !== undefined;
  };

  // A transformed channel reads records with its transform's input mapping.
  let events: Event[] | undefined;
  if (backend.transform) {
    const mapped = mapInput(backend.transform, text);
    if (typeof mapped === 'string')
      return {
        ok: false,
        reason: `the value does not map to ${backend.transform.inputStream.name}: ${mapped}`,
      };
    events = mapped;
  } else
    switch (channel.format) {
      case 'json':
        if (!parseJson()) return { ok: false, reason: 'the value is not valid JSON' };
        break;
      case 'xml': {
        const problem = isWellFormedXml(text);
        if (problem !== true) return { ok: false, reason: `the value is not well-formed XML: ${problem}` };
        break;
      }
      case 'text':
        break;
    }

  const params: Record<string, string> = {};
  for (const [name, source] of Object.entries(backend.parameters)) {
    const value = parameterValue(record, source, () => (parseJson() ? json : undefined));
    if (value === undefined)
      return { ok: false, reason: `no value for parameter ${name} (${describeSource(source)})` };
    if (!isValidParameterValue(value)) {
      return {
        ok: false,
        reason: `parameter ${name} (${describeSource(source)}) is not a valid topic segment`,
      };
    }
    params[name] = value;
  }
  return { ok: true, params, payload: text, ...(events ? { events } : {}) };
}

function parameterValue(
  record: DecodedRecord,
  source: KafkaParameterSource,
  json: () => unknown,
): string | undefined {
  switch (source.from) {
    case 'key':
      return record.key && record.key.length > 0 ? record.key.toString('utf8') : undefined;
    case 'header':
      return record.headers[source.name];
    case 'value': {
      const found = resolvePointer(json(), source.pointer);
      return typeof found === 'string' || typeof found === 'number' || typeof found === 'boolean'
        ? String(found)
        : undefined;
    }
  }
}

function describeSource(source: KafkaParameterSource): string {
  return source.from === 'key'
    ? 'the record key'
    : source.from === 'header'
      ? `header ${source.name}`
      : `value ${source.pointer}`;
}

/** RFC 6901 JSON pointer. */
export function resolvePointer(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  let current = document;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
