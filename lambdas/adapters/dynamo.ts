import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { InitializeHandler, InitializeHandlerArguments, InitializeMiddleware } from '@smithy/types';
import { recordConsumedCapacity } from '../shared/observability.ts';

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
 * Every data call asks DynamoDB for the capacity it consumed (free of charge) and adds it to the
 * invocation's metrics (dynamoReadUnits, dynamoWriteUnits): what a table really costs, per function.
 */
const meterConsumedCapacity: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> =
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
      recordConsumedCapacity(kind, entry.CapacityUnits ?? 0);
    }
    return result;
  };

/**
 * One DynamoDB document client per execution environment, over keep-alive sockets. The endpoint
 * is the SDK's own choice: the regional one on AWS, AWS_ENDPOINT_URL_DYNAMODB where that is set.
 */
export function createDocumentClient(maxSockets = 50): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      connectionTimeout: 2_000,
      requestTimeout: 5_000,
    }),
  });
  client.middlewareStack.add(meterConsumedCapacity, { step: 'initialize', name: 'streamgateMeterCapacity' });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}
