import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type ConnectionRecord,
  connectionKey,
  MAX_TOPICS_PER_CONNECTION,
  type Subscriber,
  subscriberKey,
  topicPartition,
} from '../core/connection.ts';
import { GatewayError, unauthorized } from '../core/errors.ts';

/** How often a subscription change that lost a race is decided again before answering 409. */
const RACE_ATTEMPTS = 8;

/** A transaction that lost to another write: a condition no longer held, or a concurrent transaction. */
function isLostRace(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return (
    name === 'TransactionCanceledException' ||
    name === 'ConditionalCheckFailedException' ||
    name === 'TransactionConflictException'
  );
}

/**
 * The connection registry in DynamoDB. One table, two kinds of item:
 *   pk `C#{connectionId}`  sk `C`              the connection record
 *   pk `T#{topicKey}#{n}`  sk `{connectionId}` one per (topic, subscriber), n = shard of the id
 * Fan-out reads subscribers with a strongly consistent Query per shard; nothing ever Scans.
 */
export class ConnectionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly shards: number,
  ) {}

  /** Write the record and its own subscription together: a connection is never half-registered. */
  async put(record: ConnectionRecord): Promise<void> {
    await this.db.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: this.tableName, Item: { ...connectionKey(record.connectionId), ...record } } },
          ...record.topicKeys.map((topicKey) => ({
            Put: { TableName: this.tableName, Item: this.subscriberItem(topicKey, record) },
          })),
        ],
      }),
    );
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: connectionKey(connectionId), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, ...record } = Item;
    return record as ConnectionRecord;
  }

  /**
   * Add a topic to a connection: 'added', 'already' (it receives the topic), or 'limit' (it holds
   * MAX_TOPICS_PER_CONNECTION). The record's list and the subscriber item change in one conditional
   * transaction; one that loses a race with another message of the same connection (a condition
   * that no longer holds, a transaction conflict) reads the record again and decides again, so a
   * burst of identical messages gets ordinary answers, never an exception.
   */
  async subscribe(record: ConnectionRecord, topicKey: string): Promise<'added' | 'already' | 'limit'> {
    return this.retryingRaces(record.connectionId, async (current) => {
      if (current.topicKeys.includes(topicKey)) return 'already';
      if (current.topicKeys.length >= MAX_TOPICS_PER_CONNECTION) return 'limit';
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: connectionKey(record.connectionId),
                UpdateExpression: 'SET topicKeys = list_append(topicKeys, :added)',
                ConditionExpression:
                  'attribute_exists(pk) AND NOT contains(topicKeys, :topic) AND size(topicKeys) < :max',
                ExpressionAttributeValues: {
                  ':added': [topicKey],
                  ':topic': topicKey,
                  ':max': MAX_TOPICS_PER_CONNECTION,
                },
              },
            },
            { Put: { TableName: this.tableName, Item: this.subscriberItem(topicKey, current) } },
          ],
        }),
      );
      return 'added';
    });
  }

  /**
   * Remove a topic from a connection. Returns false when the connection did not receive it. Races
   * with other messages of the connection are decided again on a fresh read, as in `subscribe`.
   */
  async unsubscribe(connectionId: string, topicKey: string): Promise<boolean> {
    return this.retryingRaces(connectionId, async (current) => {
      const index = current.topicKeys.indexOf(topicKey);
      if (index < 0) return false;
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: connectionKey(connectionId),
                UpdateExpression: `REMOVE topicKeys[${index}]`,
                ConditionExpression: `topicKeys[${index}] = :topic`,
                ExpressionAttributeValues: { ':topic': topicKey },
              },
            },
            {
              Delete: { TableName: this.tableName, Key: subscriberKey(topicKey, connectionId, this.shards) },
            },
          ],
        }),
      );
      return true;
    });
  }

  /**
   * Read the record, decide and write; when the write loses a race (TransactionCanceledException:
   * a failed condition or a conflicting transaction), read again and decide again, with jittered
   * backoff, up to RACE_ATTEMPTS times; then 409 `conflict`. A connection no longer registered is 401.
   */
  private async retryingRaces<T>(
    connectionId: string,
    attempt: (current: ConnectionRecord) => Promise<T>,
  ): Promise<T> {
    for (let n = 0; ; n++) {
      const current = await this.get(connectionId);
      if (!current) throw unauthorized('this connection is not registered; connect again');
      try {
        return await attempt(current);
      } catch (error) {
        if (!isLostRace(error)) throw error;
        if (n + 1 >= RACE_ATTEMPTS) {
          throw new GatewayError(
            'conflict',
            'other messages of this connection changed its topics at the same time; try again',
          );
        }
        await sleep(Math.random() * 20 * 2 ** n);
      }
    }
  }

  /**
   * Remove a connection and every subscription it holds. Idempotent: removing what is gone is fine,
   * so `$disconnect`, a 410 seen by a fan-out and a retried batch may all race on it. `known`: the
   * record as the caller just read it (not read again).
   */
  async remove(connectionId: string, known?: ConnectionRecord): Promise<ConnectionRecord | undefined> {
    const record = known ?? (await this.get(connectionId));
    const keys = [
      connectionKey(connectionId),
      ...(record?.topicKeys ?? []).map((topicKey) => subscriberKey(topicKey, connectionId, this.shards)),
    ];
    for (let i = 0; i < keys.length; i += 25) {
      let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; requests.length && attempt < 8; attempt++) {
        const { UnprocessedItems } = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = (UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
        if (requests.length) await sleep(25 * 2 ** attempt);
      }
      if (requests.length)
        throw new Error(`could not remove connection ${connectionId}: DynamoDB kept throttling`);
    }
    return record;
  }

  /**
   * Every live subscriber of a topic: one Query per shard, run together, each paged to the end.
   * Items past their TTL that DynamoDB has not deleted yet are filtered out.
   */
  async subscribers(topicKey: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<Subscriber[]> {
    const shards = await Promise.all(
      Array.from({ length: this.shards }, async (_, shard) => {
        const found: Subscriber[] = [];
        for await (const page of this.queryShard(topicPartition(topicKey, shard), nowSeconds))
          found.push(...page);
        return found;
      }),
    );
    return shards.flat();
  }

  private async *queryShard(partition: string, nowSeconds: number): AsyncGenerator<Subscriber[]> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'expiresAt > :now',
          ProjectionExpression: 'connectionId, appId, appName',
          ExpressionAttributeValues: { ':pk': partition, ':now': nowSeconds },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      if (page.Items?.length) yield page.Items as Subscriber[];
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  private subscriberItem(topicKey: string, record: ConnectionRecord): Record<string, unknown> {
    return {
      ...subscriberKey(topicKey, record.connectionId, this.shards),
      connectionId: record.connectionId,
      expiresAt: record.expiresAt,
      ...(record.app ? { appId: record.app.appId, appName: record.app.appName } : {}),
    };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
