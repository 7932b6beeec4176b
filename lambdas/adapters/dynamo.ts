import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
  paginateQuery,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { InitializeHandler, InitializeHandlerArguments, InitializeMiddleware } from '@smithy/types';
import { sleep } from '../core/concurrency.ts';
import { keepAliveRequestHandler } from './keep-alive.ts';

const READS = new Set([
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'TransactGetItemsCommand',
]);
const WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

/**
 * Receives the capacity units DynamoDB reports for each read or write call (the handler side adds
 * them to the invocation's metrics: dynamoReadUnits, dynamoWriteUnits).
 */
export type ConsumedCapacityListener = (kind: 'read' | 'write', units: number) => void;

/**
 * Every data call asks DynamoDB for the capacity it consumed (free of charge) and passes it to
 * `onConsumedCapacity`: what a table really costs, per function.
 */
const meterConsumedCapacity =
  (
    onConsumedCapacity: ConsumedCapacityListener,
  ): InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> =>
  (next: InitializeHandler<ServiceInputTypes, ServiceOutputTypes>, context) =>
  async (args: InitializeHandlerArguments<ServiceInputTypes>) => {
    const command = String((context as { commandName?: string }).commandName);
    const kind = READS.has(command) ? 'read' : WRITES.has(command) ? 'write' : undefined;
    if (!kind) return next(args);
    const input = args.input as { ReturnConsumedCapacity?: string };
    input.ReturnConsumedCapacity ??= 'TOTAL';
    const result = await next(args);
    const reported = (
      result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }
    ).ConsumedCapacity;
    for (const entry of Array.isArray(reported) ? reported : reported ? [reported] : []) {
      onConsumedCapacity(kind, entry.CapacityUnits ?? 0);
    }
    return result;
  };

/** Options of {@link createDocumentClient}. */
export interface DocumentClientOptions {
  /** Called with the capacity units of every read and write call; without it nothing is metered. */
  onConsumedCapacity?: ConsumedCapacityListener;
  /** Keep-alive sockets per protocol. @default 50 */
  maxSockets?: number;
}

/**
 * One DynamoDB document client per execution environment, over keep-alive sockets. The endpoint
 * is the SDK's own choice: the regional one on AWS, AWS_ENDPOINT_URL_DYNAMODB where that is set.
 */
export function createDocumentClient({
  onConsumedCapacity,
  maxSockets = 50,
}: DocumentClientOptions = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    requestHandler: keepAliveRequestHandler({ maxSockets }),
  });
  if (onConsumedCapacity) {
    client.middlewareStack.add(meterConsumedCapacity(onConsumedCapacity), {
      step: 'initialize',
      name: 'streamgateMeterCapacity',
    });
  }
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}

// --- pagination, condition failures and batch retries (one helper each for every adapter) ---------

/**
 * Every item of a Query, following LastEvaluatedKey to the end with the SDK's paginator (one
 * request per page of at most 1 MB).
 */
export async function queryAll(
  db: DynamoDBDocumentClient,
  input: QueryCommandInput,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateQuery({ client: db }, input)) items.push(...(page.Items ?? []));
  return items;
}

/**
 * Whether a write was refused by its ConditionExpression: ConditionalCheckFailedException, or a
 * TransactWriteItems canceled (TransactionCanceledException: one of its conditions failed, or a
 * concurrent transaction held one of its items).
 */
export function isConditionFailure(error: unknown): error is Error & { Item?: Record<string, unknown> } {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'ConditionalCheckFailedException' || name === 'TransactionCanceledException';
}

/**
 * A conditional write's result, or `onFailure`'s when its condition failed (see
 * {@link isConditionFailure}); any other error is rethrown. `onFailure` receives the error, whose
 * `Item` holds the old item when the write asked for ReturnValuesOnConditionCheckFailure.
 */
export async function unlessConditionFails<T, F>(
  write: Promise<T>,
  onFailure: (error: Error & { Item?: Record<string, unknown> }) => F | Promise<F>,
): Promise<T | F> {
  try {
    return await write;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return onFailure(error);
  }
}

/** Whether a conditional write was made: false when its condition failed (other errors are thrown). */
export function conditionMet(write: Promise<unknown>): Promise<boolean> {
  return unlessConditionFails(
    write.then(() => true),
    () => false,
  );
}

/** Retries of unprocessed items after the first call, 25 ms · 2^attempt apart (≈ 6.4 s in all). */
const MAX_UNPROCESSED_RETRIES = 8;

/** Call `send` with `pending` until it returns nothing left, backing off between calls. */
async function untilProcessed<T>(
  pending: T[],
  send: (pending: T[]) => Promise<T[]>,
  what: string,
): Promise<void> {
  for (let attempt = 0; pending.length; attempt++) {
    pending = await send(pending);
    if (!pending.length) return;
    if (attempt >= MAX_UNPROCESSED_RETRIES) throw new Error(`DynamoDB kept throttling ${what}`);
    await sleep(25 * 2 ** attempt);
  }
}

/**
 * Write (put or delete) requests to one table, 25 per BatchWriteItem call, resending what DynamoDB
 * leaves in UnprocessedItems with exponential backoff. Throws `DynamoDB kept throttling {what}`
 * when items are still unprocessed after 8 retries.
 */
export async function batchWriteAll(
  db: DynamoDBDocumentClient,
  tableName: string,
  requests: NonNullable<BatchWriteCommandInput['RequestItems']>[string],
  what: string,
): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    await untilProcessed(
      requests.slice(i, i + 25),
      async (pending) => {
        const { UnprocessedItems } = await db.send(
          new BatchWriteCommand({ RequestItems: { [tableName]: pending } }),
        );
        return UnprocessedItems?.[tableName] ?? [];
      },
      what,
    );
  }
}

/**
 * The items of `keys` in one table (those that exist), 100 keys per BatchGetItem call, resending
 * UnprocessedKeys with exponential backoff; throws like {@link batchWriteAll}. Order is not kept.
 */
export async function batchGetAll(
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: Record<string, unknown>[],
  what: string,
  options: { consistentRead?: boolean } = {},
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    await untilProcessed(
      keys.slice(i, i + 100),
      async (pending) => {
        const { Responses, UnprocessedKeys } = await db.send(
          new BatchGetCommand({
            RequestItems: {
              [tableName]: {
                Keys: pending,
                ...(options.consistentRead ? { ConsistentRead: true } : {}),
              },
            },
          }),
        );
        found.push(...(Responses?.[tableName] ?? []));
        return UnprocessedKeys?.[tableName]?.Keys ?? [];
      },
      what,
    );
  }
  return found;
}
