/**
 * Contender (b), the naive pattern of AWS's sample chat app (aws-samples/simple-websockets-chat-app,
 * sendmessage/app.js): for every event, one unpaginated Scan of the connections table, then one
 * PostToConnection per connection — b1 awaiting each in turn, b2 all at once with Promise.all
 * (the SDK's default 50 sockets). It plays the sample's Lambda function, in a process of its own
 * pinned beside the stack, against the same gateway emulator and DynamoDB Local.
 * Driven over IPC: {type:'event', data} → scan + post; {type:'usage'} → billable counts so far.
 */
import { Agent } from 'node:http';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

interface Config {
  mode: 'sequential' | 'parallel';
  table: string;
  dynamodb: string;
  callback: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const region = 'us-east-1';
const db = new DynamoDBClient({ endpoint: config.dynamodb, region, credentials: config.credentials });
const api = new ApiGatewayManagementApiClient({
  endpoint: config.callback,
  region,
  credentials: config.credentials,
  // The SDK v3 default: keep-alive, 50 sockets per origin.
  requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 50 }) }),
});
const usage = { invocations: 0, billedMs: 0, readUnits: 0, posts: 0, gone: 0 };

async function onEvent(data: string): Promise<void> {
  const started = performance.now();
  usage.invocations++;
  const scan = await db.send(
    new ScanCommand({
      TableName: config.table,
      ProjectionExpression: 'connectionId',
      ReturnConsumedCapacity: 'TOTAL',
    }),
  );
  usage.readUnits += scan.ConsumedCapacity?.CapacityUnits ?? 0;
  const ids = (scan.Items ?? []).map((item) => item.connectionId?.S as string);
  const post = async (ConnectionId: string) => {
    try {
      await api.send(new PostToConnectionCommand({ ConnectionId, Data: data }));
      usage.posts++;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410)
        usage.gone++;
      else throw error;
    }
  };
  if (config.mode === 'sequential') {
    for (const id of ids) await post(id);
  } else {
    await Promise.all(ids.map(post));
  }
  usage.billedMs += Math.ceil(performance.now() - started);
}

process.on('message', (message: { type: string; data?: string }) => {
  if (message.type === 'event')
    void onEvent(message.data ?? '').catch((e: Error) => process.stderr.write(`${e.message}\n`));
  if (message.type === 'usage') process.send?.({ type: 'usage', usage });
});
process.send?.({ type: 'ready' });
