import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionMet } from './dynamo.ts';

/** Window counters outlive their window by a minute (DynamoDB TTL deletes them eventually). */
const KEEP_AFTER_WINDOW_S = 60;

/**
 * Frame counters shared by every execution environment, in the throttling table, one item per
 * subject (`C#{connectionId}`, `A#{appId}`) and fixed window:
 *   pk `FR#{subject}#{windowStart}` sk `W`   frames, expiresAt
 * `take` is one conditional write: never more than `limit` frames are admitted in a window, however
 * many environments race.
 */
export class FrameCounter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Counts one frame of `subject` in the window; false (nothing written) when the window is full. */
  async take(subject: string, window: { key: number; limit: number; endsAt: number }): Promise<boolean> {
    return conditionMet(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `FR#${subject}#${window.key}`, sk: 'W' },
          UpdateExpression: 'ADD frames :one SET expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(frames) OR frames < :limit',
          ExpressionAttributeValues: {
            ':one': 1,
            ':limit': window.limit,
            ':exp': Math.floor(window.endsAt / 1000) + KEEP_AFTER_WINDOW_S,
          },
        }),
      ),
    );
  }
}
