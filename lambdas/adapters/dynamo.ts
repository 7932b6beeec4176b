import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

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
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}
