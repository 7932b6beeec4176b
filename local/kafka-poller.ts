/**
 * The MSK event source mapping, offline: a real Kafka consumer group per mapping of the template,
 * batches across partitions by size and window, the event shape AWS sends (records grouped by
 * `topic-partition`, base64 key and value, headers as byte arrays), offsets committed only after
 * the function succeeds, the whole batch retried when it fails (with an on-failure destination:
 * at most 10 times, then the batch's description goes there and the partition moves on).
 */
import { randomUUID } from 'node:crypto';
import {
  type Consumer,
  type EachBatchPayload,
  Kafka,
  type KafkaConfig,
  type KafkaMessage,
  logLevel,
} from 'kafkajs';
import { mskIamToken } from '../lambdas/adapters/msk-iam-token.ts';
import type { MskEvent, MskRecord } from '../lambdas/core/kafka-records.ts';
import type { LambdaRuntime } from './lambda/runtime.ts';
import type { LogSink } from './log.ts';
import type { LocalEventSourceMapping } from './template.ts';

interface Pending {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  resolve(): void;
  reject(error: Error): void;
}

export interface PollerOptions {
  mapping: LocalEventSourceMapping;
  brokers: string[];
  clusterArn: string;
  lambda: Pick<LambdaRuntime, 'invoke' | 'functionByLogicalId'>;
  log: LogSink;
  /** Where a batch goes when retries are exhausted (the mapping's on-failure destination). */
  sendToFailureDestination?: (arn: string, body: string) => void;
  /**
   * Connect as an MSK event source mapping with IAM authentication does: TLS (trusting `ca`, PEM) and
   * SASL OAUTHBEARER with an MSK IAM token signed with the function's execution role credentials,
   * so the broker authorizes the group and topic operations by that role's policies.
   */
  iam?: {
    region: string;
    ca: string;
    credentials: () => Promise<{ accessKeyId: string; secretAccessKey: string }>;
  };
}

const MAX_BACKOFF_MS = 10_000;

export class EventSourcePoller {
  private consumer: Consumer | undefined;
  private pending: Pending[] = [];
  /** Partitions (`topic-partition`) with a batch at the function: their next batch waits, in order. */
  private readonly busy = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /**
   * Batches delivered, invocations retried, and consumers replaced, since start; `lastError`: the
   * last Kafka error that stopped the consumer (with its Kafka error code, e.g.
   * TOPIC_AUTHORIZATION_FAILED), as the mapping's LastProcessingResult would show a problem.
   */
  readonly stats: {
    batches: number;
    records: number;
    retries: number;
    abandoned: number;
    restarts: number;
    lastError?: string;
  } = { batches: 0, records: 0, retries: 0, abandoned: 0, restarts: 0 };

  constructor(private readonly options: PollerOptions) {}

  /** The topics this mapping reads. */
  get topics(): string[] {
    return this.options.mapping.topics;
  }

  /** Starts polling; a consumer that cannot start (say, denied by IAM) is logged and retried. */
  async start(): Promise<void> {
    const { mapping, log } = this.options;
    try {
      await this.run();
    } catch (error) {
      this.failed(error as Error, 'could not start the consumer');
      if (this.consumer) this.replace(this.consumer);
      return;
    }
    log.info('kafka-poller', `polling ${mapping.topics.join(', ')} as group ${mapping.consumerGroupId}`, {
      function: mapping.functionId,
      batchSize: mapping.batchSize,
      windowMs: mapping.batchingWindowMs,
    });
  }

  /** A consumer in the mapping's group, delivering batches until stopped. */
  private async run(): Promise<void> {
    const { mapping, brokers, log } = this.options;
    const kafka = new Kafka({
      clientId: `streamgate-esm-${mapping.logicalId}`,
      brokers,
      logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 50 },
      ...this.security(),
    });
    const consumer = kafka.consumer({
      groupId: mapping.consumerGroupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 10_000,
      maxWaitTimeInMs: 100,
      minBytes: 1,
      retry: {
        initialRetryTime: 300,
        maxRetryTime: 5_000,
        retries: 50,
        restartOnFailure: async () => !this.stopped,
      },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload: { error, restart } }) => {
      // kafkajs may restart a consumer it had scheduled before `stop()`: a crash after it ends it.
      if (this.stopped) {
        void consumer.disconnect().catch(() => undefined);
        return;
      }
      if (restart) {
        this.stats.lastError = `${(error as { type?: string }).type ?? error.name}: ${error.message}`;
        log.warn('kafka-poller', `consumer restarting after: ${error.message}`, {
          mapping: mapping.logicalId,
        });
        return;
      }
      // kafkajs gives up on errors it does not call retriable; the MSK mapping never does.
      this.failed(error, 'consumer stopped by');
      this.replace(consumer);
    });
    await consumer.connect();
    for (const topic of mapping.topics) {
      await consumer.subscribe({ topic, fromBeginning: mapping.startingPosition === 'TRIM_HORIZON' });
    }
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 64,
      eachBatch: (payload) => this.onBatch(consumer, payload),
    });
    if (this.stopped) await consumer.disconnect(); // stopped while this one was starting
  }

  /** TLS and SASL/IAM settings of the mapping's Kafka client (none on a plaintext broker). */
  private security(): Pick<KafkaConfig, 'ssl' | 'sasl'> {
    const iam = this.options.iam;
    if (!iam) return {};
    return {
      ssl: { ca: [iam.ca] },
      sasl: { mechanism: 'oauthbearer', oauthBearerProvider: () => mskIamToken(iam.region, iam.credentials) },
    };
  }

  /** Logs what stopped the consumer, with the Kafka error code, and keeps it in `stats.lastError`. */
  private failed(error: Error & { type?: string }, what: string): void {
    const code = error.type ?? error.name;
    const repeated = this.stats.lastError === `${code}: ${error.message}`;
    this.stats.lastError = `${code}: ${error.message}`;
    // A mapping that cannot read retries every second: the same error is logged once, until it changes.
    this.options.log[repeated ? 'debug' : 'error'](
      'kafka-poller',
      `${what}: ${error.message} (${code}); a new one starts in 1 s`,
      {
        mapping: this.options.mapping.logicalId,
        function: this.options.mapping.functionId,
      },
    );
  }

  /**
   * Start over with a new consumer: records not yet at the function are dropped here and read again
   * from the last committed offset (a batch at the function finishes, and is not committed twice).
   */
  private replace(dead: Consumer): void {
    if (this.stopped || this.consumer !== dead) return;
    this.consumer = undefined;
    void dead.disconnect().catch(() => undefined); // one that failed to start may hold connections
    for (const entry of this.pending.splice(0)) entry.reject(new Error('consumer replaced'));
    this.stats.restarts++;
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.run().catch((error: Error) => {
        this.failed(error, 'could not start a new consumer');
        if (this.consumer) this.replace(this.consumer);
      });
    }, 1_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.restartTimer);
    for (const entry of this.pending.splice(0)) entry.reject(new Error('stopping'));
    await this.consumer?.disconnect().catch(() => undefined);
  }

  /**
   * Hand a partition's records over in chunks; commit each chunk once the function took it. With a
   * batching window the partition reads ahead while its chunk waits, so records that arrive within
   * the window join the same invocation, as with the MSK mapping; without one, it waits.
   */
  private async onBatch(
    consumer: Consumer,
    { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload,
  ) {
    const { batchSize, batchingWindowMs } = this.options.mapping;
    let messages = batch.messages;
    while (messages.length && isRunning() && !isStale() && !this.stopped) {
      const chunk = messages.slice(0, batchSize);
      const last = (chunk.at(-1) as KafkaMessage).offset;
      const delivered = new Promise<void>((resolve, reject) => {
        this.pending.push({
          topic: batch.topic,
          partition: batch.partition,
          messages: chunk,
          resolve,
          reject,
        });
        this.schedule();
      });
      // Batches of one partition are delivered one after the other, so commits stay in order.
      const committed = delivered.then(() =>
        consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
        ]),
      );
      const readAhead = batchingWindowMs > 0 && this.waiting(batch.topic, batch.partition) < 2 * batchSize;
      if (readAhead) {
        committed.catch(() => undefined); // only when stopping: the records are read again next time
        resolveOffset(last);
      } else {
        const keepAlive = setInterval(() => void heartbeat().catch(() => undefined), 1_000);
        try {
          await committed;
        } finally {
          clearInterval(keepAlive);
        }
        resolveOffset(last);
      }
      await heartbeat();
      messages = messages.slice(batchSize);
    }
  }

  /** Records of a partition not yet taken by the function. */
  private waiting(topic: string, partition: number): number {
    return this.pending
      .filter((p) => p.topic === topic && p.partition === partition)
      .reduce((n, p) => n + p.messages.length, 0);
  }

  private queued(): number {
    return this.pending.reduce((n, p) => n + p.messages.length, 0);
  }

  /** Flush when a batch is full, or when the window since the first waiting record has passed. */
  private schedule(): void {
    if (this.queued() >= this.options.mapping.batchSize) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.flush();
      return;
    }
    if (this.timer) return;
    const window = this.options.mapping.batchingWindowMs;
    this.timer =
      window > 0 ? setTimeout(() => this.flushNow(), window) : setTimeout(() => this.flushNow(), 0);
  }

  private flushNow(): void {
    this.timer = undefined;
    void this.flush();
  }

  private async flush(): Promise<void> {
    const take: Pending[] = [];
    const partitions = new Set<string>();
    let count = 0;
    for (const next of [...this.pending]) {
      const key = `${next.topic}-${next.partition}`;
      if (this.busy.has(key)) continue;
      if (take.length && count + next.messages.length > this.options.mapping.batchSize) break;
      take.push(next);
      partitions.add(key);
      count += next.messages.length;
    }
    this.pending = this.pending.filter((p) => !take.includes(p));
    if (!take.length) return;
    for (const key of partitions) this.busy.add(key);
    if (this.pending.length) this.schedule();
    try {
      await this.deliver(take);
      for (const entry of take) entry.resolve();
    } catch (error) {
      for (const entry of take) entry.reject(error as Error);
    } finally {
      for (const key of partitions) this.busy.delete(key);
      if (this.pending.length && !this.stopped) this.schedule();
    }
  }

  /** Invoke the function with one batch until it succeeds (or retries run out with a destination). */
  private async deliver(entries: Pending[]): Promise<void> {
    const { mapping, lambda, log } = this.options;
    const event = this.eventOf(entries);
    const records = entries.reduce((n, e) => n + e.messages.length, 0);
    const maxRetries = mapping.maximumRetryAttempts ?? (mapping.onFailureArn ? 10 : Number.POSITIVE_INFINITY);
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw new Error('stopping');
      try {
        await lambda.invoke(mapping.functionId, event);
        delete this.stats.lastError;
        this.stats.batches++;
        this.stats.records += records;
        return;
      } catch (error) {
        const message = (error as Error).message;
        if (attempt >= maxRetries) {
          log.error('kafka-poller', `batch abandoned after ${attempt + 1} attempts: ${message}`, {
            mapping: mapping.logicalId,
            records,
          });
          this.stats.abandoned++;
          if (mapping.onFailureArn)
            this.options.sendToFailureDestination?.(
              mapping.onFailureArn,
              this.failureRecord(entries, message, attempt + 1),
            );
          return;
        }
        this.stats.retries++;
        const wait = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt);
        log.warn('kafka-poller', `batch failed (${message}); retrying the whole batch in ${wait} ms`, {
          mapping: mapping.logicalId,
          attempt: attempt + 1,
          records,
        });
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private eventOf(entries: Pending[]): MskEvent {
    const records: Record<string, MskRecord[]> = {};
    for (const { topic, partition, messages } of entries) {
      const key = `${topic}-${partition}`;
      const list = records[key] ?? [];
      records[key] = list;
      for (const message of messages) {
        const headers = Object.entries(message.headers ?? {}).flatMap(([name, value]) =>
          (Array.isArray(value) ? value : [value]).map((v) => ({
            [name]: [...(Buffer.isBuffer(v) ? v : Buffer.from(String(v ?? '')))],
          })),
        );
        list.push({
          topic,
          partition,
          offset: Number(message.offset),
          timestamp: Number(message.timestamp),
          timestampType: 'CREATE_TIME',
          ...(message.key ? { key: message.key.toString('base64') } : {}),
          value: message.value ? message.value.toString('base64') : '',
          headers,
        });
      }
    }
    return {
      eventSource: 'aws:kafka',
      eventSourceArn: this.options.clusterArn,
      bootstrapServers: this.options.brokers.join(','),
      records,
    };
  }

  /** What AWS sends an on-failure destination for a Kafka batch: where it was, not the records. */
  private failureRecord(entries: Pending[], error: string, attempts: number): string {
    const first = entries[0] as Pending;
    return JSON.stringify({
      requestContext: {
        requestId: randomUUID(),
        functionArn: this.options.lambda.functionByLogicalId(this.options.mapping.functionId)?.arn,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: attempts,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: new Date().toISOString(),
      KafkaBatchInfo: {
        batchSize: entries.reduce((n, e) => n + e.messages.length, 0),
        bootstrapServers: this.options.brokers.join(','),
        topic: first.topic,
        partitions: entries.map((e) => ({
          partition: e.partition,
          firstRecordOffset: Number(e.messages[0]?.offset),
          lastRecordOffset: Number(e.messages.at(-1)?.offset),
        })),
        error,
      },
    });
  }
}
