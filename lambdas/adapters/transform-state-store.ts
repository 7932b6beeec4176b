import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithConcurrency } from '../core/concurrency.ts';
import type { TransformDef } from '../core/transform/siddhi.ts';
import {
  applyItems,
  emptyDocument,
  type StateDocument,
  stateExpiry,
  type TransformFailure,
  type TransformItem,
  type TransformOutput,
} from '../core/transform/state.ts';

const MAX_RACE_RETRIES = 25;

/**
 * Transform state in the stream state table: one item per (channel, group, window),
 *   pk `AG#{apiId}|{channel}#{group}|{window}`  sk `S`
 * read, advanced and written back with an optimistic version check — exact when several fan-outs
 * race on one group (the loser re-reads and re-applies) and when a batch is retried (the document
 * knows what it took in). Writes per batch: one per state document touched.
 */
export class TransformStateStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async apply(
    scope: string,
    transform: TransformDef,
    itemsByState: Map<string, TransformItem[]>,
  ): Promise<{ outputs: TransformOutput[]; writes: number; failures: TransformFailure[] }> {
    let writes = 0;
    const failures: TransformFailure[] = [];
    const results = await mapWithConcurrency([...itemsByState], 8, async ([stateKey, items]) => {
      const key = { pk: `AG#${scope}#${stateKey}`, sk: 'S' };
      for (let attempt = 0; attempt < MAX_RACE_RETRIES; attempt++) {
        const { Item } = await this.db.send(
          new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
        );
        const current = (Item?.state as StateDocument | undefined) ?? emptyDocument();
        const applied = applyItems(transform, current, items);
        const { document, outputs, changed } = applied;
        const keep = () => {
          failures.push(...applied.failures);
          return outputs;
        };
        if (!changed) return keep(); // everything was taken in before (or failed): nothing to write
        const expiresAt = stateExpiry(transform, stateKey, Date.now());
        try {
          await this.db.send(
            new PutCommand({
              TableName: this.tableName,
              Item: { ...key, state: document, ...(expiresAt ? { expiresAt } : {}) },
              ConditionExpression: Item ? '#state.#version = :seen' : 'attribute_not_exists(pk)',
              ExpressionAttributeNames: Item ? { '#state': 'state', '#version': 'version' } : undefined,
              ExpressionAttributeValues: Item ? { ':seen': current.version } : undefined,
            }),
          );
          writes++;
          return keep();
        } catch (error) {
          if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
        }
      }
      throw new Error(
        `transform state ${stateKey} kept changing under this batch; the batch will be retried`,
      );
    });
    return { outputs: results.flat(), writes, failures };
  }
}
