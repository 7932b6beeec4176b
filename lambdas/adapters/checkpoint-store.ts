import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sleep } from '../core/concurrency.ts';
import { type Checkpoint, partitionKeyOf } from '../core/fanout-plan.ts';

/** Checkpoints outlive any batch retry by far; a day keeps the table small. */
const CHECKPOINT_TTL_SECONDS = 24 * 60 * 60;

/**
 * The last delivered offset per (function, topic, partition), written once per partition per
 * batch. A batch the event source mapping retries after it was fully delivered (the function timed
 * out or failed after posting) is then skipped rather than delivered twice.
 *   pk `CK#{scope}#{topic}#{partition}`  sk `CK`
 */
export class CheckpointStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly scope: string,
  ) {}

  private key(topic: string, partition: number) {
    return { pk: `CK#${this.scope}#${topic}#${partition}`, sk: 'CK' };
  }

  /** Checkpoints of these partitions by `topic-partition` (none for a partition never checkpointed). */
  async read(partitions: { topic: string; partition: number }[]): Promise<Map<string, Checkpoint>> {
    const found = new Map<string, Checkpoint>();
    for (let i = 0; i < partitions.length; i += 100) {
      let keys: Record<string, unknown>[] = partitions
        .slice(i, i + 100)
        .map((p) => this.key(p.topic, p.partition));
      for (let attempt = 0; keys.length; attempt++) {
        const { Responses, UnprocessedKeys } = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of Responses?.[this.tableName] ?? []) {
          found.set(partitionKeyOf(item as { topic: string; partition: number }), {
            offset: item.offset,
            timestamp: item.timestamp,
          });
        }
        keys = (UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
        if (keys.length) {
          if (attempt >= 8) throw new Error('DynamoDB kept throttling checkpoint reads');
          await sleep(25 * 2 ** attempt);
        }
      }
    }
    return found;
  }

  /** Store each partition's checkpoint (the newest record a batch delivered). */
  async write(
    checkpoints: { topic: string; partition: number; offset: number; timestamp: number }[],
  ): Promise<void> {
    const expiresAt = Math.floor(Date.now() / 1000) + CHECKPOINT_TTL_SECONDS;
    for (let i = 0; i < checkpoints.length; i += 25) {
      let requests = checkpoints.slice(i, i + 25).map((c) => ({
        PutRequest: { Item: { ...this.key(c.topic, c.partition), ...c, expiresAt } },
      }));
      for (let attempt = 0; requests.length; attempt++) {
        const { UnprocessedItems } = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = (UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
        if (requests.length) {
          if (attempt >= 8) throw new Error('DynamoDB kept throttling checkpoint writes');
          await sleep(25 * 2 ** attempt);
        }
      }
    }
  }
}
