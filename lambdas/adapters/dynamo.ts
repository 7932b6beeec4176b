import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { InitializeHandler, InitializeHandlerArguments, InitializeMiddleware } from '@smithy/types';
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
