import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type BatchGetCommand,
  type BatchWriteCommand,
  DynamoDBDocumentClient,
  type QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import {
  batchGetAll,
  batchWriteAll,
  conditionMet,
  queryAll,
  unlessConditionFails,
} from '../../lambdas/adapters/dynamo.ts';

/** A document client whose calls are answered by `answer` (no network). */
function fakeDb(answer: (command: unknown) => unknown) {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
  const send = vi.spyOn(db, 'send').mockImplementation(async (command: unknown) => answer(command) as never);
  return { db, send };
}

const named = (name: string) => Object.assign(new Error(name), { name });

describe('DynamoDB helpers', () => {
  it('queryAll follows LastEvaluatedKey to the last page', async () => {
    const { db, send } = fakeDb((command) => {
      const start = (command as QueryCommand).input.ExclusiveStartKey;
      return start ? { Items: [{ n: 2 }] } : { Items: [{ n: 1 }], LastEvaluatedKey: { pk: 'p', sk: '1' } };
    });
    expect(await queryAll(db, { TableName: 't', KeyConditionExpression: 'pk = :pk' })).toEqual([
      { n: 1 },
      { n: 2 },
    ]);
    expect(send).toHaveBeenCalledTimes(2);
  });

  it('unlessConditionFails answers a failed condition (or canceled transaction) and rethrows the rest', async () => {
    expect(await unlessConditionFails(Promise.resolve('written'), () => 'refused')).toBe('written');
    expect(
      await unlessConditionFails(Promise.reject(named('ConditionalCheckFailedException')), () => 'refused'),
    ).toBe('refused');
    expect(
      await unlessConditionFails(Promise.reject(named('TransactionCanceledException')), () => 'refused'),
    ).toBe('refused');
    await expect(
      unlessConditionFails(Promise.reject(named('ProvisionedThroughputExceededException')), () => 'refused'),
    ).rejects.toThrow('ProvisionedThroughputExceededException');
  });

  it('conditionMet says whether a conditional write was made', async () => {
    expect(await conditionMet(Promise.resolve({}))).toBe(true);
    expect(await conditionMet(Promise.reject(named('ConditionalCheckFailedException')))).toBe(false);
    await expect(conditionMet(Promise.reject(named('ValidationException')))).rejects.toThrow('Validation');
  });

  it('batchWriteAll sends 25 requests a call and resends what was left unprocessed', async () => {
    let first = true;
    const { db, send } = fakeDb((command) => {
      const requests = (command as BatchWriteCommand).input.RequestItems?.t ?? [];
      if (first && requests.length === 25) {
        first = false;
        return { UnprocessedItems: { t: requests.slice(0, 2) } };
      }
      return {};
    });
    const requests = Array.from({ length: 30 }, (_, i) => ({ DeleteRequest: { Key: { pk: `k${i}` } } }));
    await batchWriteAll(db, 't', requests, 'test writes');
    expect(send.mock.calls.map(([c]) => (c as BatchWriteCommand).input.RequestItems?.t?.length)).toEqual([
      25, 2, 5,
    ]);
  });

  it('batchWriteAll gives up when DynamoDB keeps items unprocessed', async () => {
    vi.useFakeTimers();
    try {
      const { db } = fakeDb((command) => ({
        UnprocessedItems: (command as BatchWriteCommand).input.RequestItems,
      }));
      const done = batchWriteAll(db, 't', [{ DeleteRequest: { Key: { pk: 'k' } } }], 'test writes');
      const outcome = expect(done).rejects.toThrow('DynamoDB kept throttling test writes');
      await vi.runAllTimersAsync();
      await outcome;
    } finally {
      vi.useRealTimers();
    }
  });

  it('batchGetAll reads 100 keys a call and asks again for the unprocessed keys', async () => {
    let first = true;
    const { db, send } = fakeDb((command) => {
      const keys = (command as BatchGetCommand).input.RequestItems?.t?.Keys ?? [];
      if (first) {
        first = false;
        return { Responses: { t: keys.slice(1) }, UnprocessedKeys: { t: { Keys: keys.slice(0, 1) } } };
      }
      return { Responses: { t: keys } };
    });
    const keys = Array.from({ length: 101 }, (_, i) => ({ pk: `k${i}` }));
    const items = await batchGetAll(db, 't', keys, 'test reads', { consistentRead: true });
    expect(items).toHaveLength(101);
    expect(send.mock.calls.map(([c]) => (c as BatchGetCommand).input.RequestItems?.t?.Keys?.length)).toEqual([
      100, 1, 1,
    ]);
    const [[firstCall]] = send.mock.calls as unknown as [[BatchGetCommand]];
    expect(firstCall.input.RequestItems?.t?.ConsistentRead).toBe(true);
  });
});
