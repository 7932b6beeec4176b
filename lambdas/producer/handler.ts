/**
 * The producer handler: sends the records of each invocation to Kafka (acks from all in-sync
 * replicas), one at a time and in order, over a producer kept connected across invocations. A
 * failure drops the connection, so the next invocation connects afresh, and fails the invocation
 * (the caller's frame is refused). `index.ts` gives it the real connection; tests give it fakes.
 */
import type { Producer } from 'kafkajs';
import type { ProducedRecord } from '../adapters/kafka-producer.ts';
import type { OutgoingRecord } from '../core/kafka-publish.ts';
import { logger, MetricUnit, metrics } from '../shared/observability.ts';

/** A connected Kafka producer: what the handler uses of kafkajs's. */
export type KafkaSender = Pick<Producer, 'send' | 'disconnect'>;

export interface ProducerDependencies {
  /** Connects a producer; called on the first invocation and again after a failure. */
  connect(): Promise<KafkaSender>;
}

/** What the producer function is invoked with (by `adapters/kafka-producer.ts`). */
export interface ProduceRequest {
  records: OutgoingRecord[];
}

/** The Lambda handler of the producer function, over `deps`. */
export function createHandler(
  deps: ProducerDependencies,
): (event: ProduceRequest) => Promise<{ produced: ProducedRecord[] }> {
  let connected: Promise<KafkaSender> | undefined;
  const producer = (): Promise<KafkaSender> => {
    connected ??= deps.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    return connected;
  };

  return async (event) => {
    try {
      const kafka = await producer();
      const produced: ProducedRecord[] = [];
      for (const record of event.records) {
        const [result] = await kafka.send({
          topic: record.topic,
          acks: -1,
          messages: [{ key: record.key, value: record.value, headers: record.headers }],
        });
        produced.push({
          topic: record.topic,
          partition: result?.partition ?? -1,
          offset: result?.baseOffset ?? '',
        });
      }
      metrics.addMetric('recordsProduced', MetricUnit.Count, produced.length);
      logger.debug('produced', { records: produced.length });
      return { produced };
    } catch (error) {
      // A broken connection is rebuilt on the next invocation.
      const stale = connected;
      connected = undefined;
      void stale?.then((p) => p.disconnect()).catch(() => undefined);
      metrics.addMetric('produceFailures', MetricUnit.Count, 1);
      logger.error('producing failed', error as Error);
      throw new Error(`the Kafka cluster did not take the record (${(error as Error).message})`, {
        cause: error,
      });
    }
  };
}
