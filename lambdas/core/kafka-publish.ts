/**
 * A frame a client publishes on a Kafka-bound channel becomes a Kafka record: the channel's
 * parameters go where the channel reads them from (the key, a header), and the record must route
 * back to the very topic instance it was published on — so what one client sends on
 * `/loc-train-qnt-456` reaches the subscribers of `/loc-train-qnt-456` and no other.
 */
import type { KafkaBackend } from './catalog.ts';
import { badRequest } from './errors.ts';
import { type KafkaBinding, routeRecord } from './kafka-records.ts';
import type { Target } from './target.ts';

export interface OutgoingRecord {
  topic: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

export function recordForFrame(target: Target, frame: string): OutgoingRecord {
  const backend = target.channel.backend as KafkaBackend;
  let key: string | null = null;
  const headers: Record<string, string> = {};
  for (const [name, source] of Object.entries(backend.parameters)) {
    const value = target.params[name];
    if (value === undefined) continue;
    if (source.from === 'key') key = value;
    else if (source.from === 'header') headers[source.name] = value;
  }
  const record: OutgoingRecord = { topic: backend.topic, key, value: frame, headers };

  const binding: KafkaBinding = { api: target.api, channel: target.channel, backend };
  const routed = routeRecord(
    {
      topic: backend.topic,
      partition: 0,
      offset: 0,
      timestamp: Date.now(),
      key: key === null ? undefined : Buffer.from(key),
      value: Buffer.from(frame),
      headers,
    },
    binding,
  );
  if (!routed.ok) throw badRequest(`this frame cannot be published to ${target.topic}: ${routed.reason}`);
  for (const [name, value] of Object.entries(target.params)) {
    if (routed.params[name] !== value) {
      throw badRequest(
        `the frame names ${name} "${routed.params[name] ?? ''}", but it was published to ${target.topic} (${name} "${value}")`,
      );
    }
  }
  return record;
}
