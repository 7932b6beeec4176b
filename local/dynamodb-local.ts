/**
 * Amazon DynamoDB Local on Java, with the tables the synthesized template defines.
 */

import { mkdir } from 'node:fs/promises';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { engineClasspath } from './java.ts';
import type { LogSink } from './log.ts';
import { type ManagedProcess, startProcess, waitForPort } from './process.ts';
import type { LocalTable } from './template.ts';

export interface DynamoDbLocal {
  endpoint: string;
  client: DynamoDBClient;
  stop(): Promise<void>;
}

export async function startDynamoDbLocal(options: {
  port: number;
  host: string;
  stateDir: string;
  /** Keep data across restarts here; in memory when absent. */
  dataDir?: string;
  log: LogSink;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
}): Promise<DynamoDbLocal> {
  const classpath = await engineClasspath('dynamodb', options.stateDir, options.log);
  const storage = options.dataDir ? ['-dbPath', options.dataDir] : ['-inMemory'];
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const proc: ManagedProcess = startProcess(
    'dynamodb',
    'java',
    [
      '-Xmx512m',
      '-cp',
      classpath,
      'software.amazon.dynamodb.services.local.main.ServerRunner',
      ...storage,
      '-sharedDb',
      '-port',
      String(options.port),
      '-disableTelemetry',
    ],
    { log: options.log },
  );
  await waitForPort(options.port, options.host, 60_000, proc.exited);
  const endpoint = `http://${options.host}:${options.port}`;
  const client = new DynamoDBClient({ endpoint, region: options.region, credentials: options.credentials });
  return {
    endpoint,
    client,
    async stop() {
      client.destroy();
      await proc.stop();
    },
  };
}

/** Create the template's tables; `reset` ones are dropped first (connections do not survive a restart). */
export async function createTables(
  client: DynamoDBClient,
  tables: LocalTable[],
  reset: (table: LocalTable) => boolean,
) {
  for (const table of tables) {
    let exists = true;
    try {
      await client.send(new DescribeTableCommand({ TableName: table.name }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      exists = false;
    }
    if (exists && reset(table)) {
      await client.send(new DeleteTableCommand({ TableName: table.name }));
      exists = false;
    }
    if (exists) continue;
    await client.send(
      new CreateTableCommand({
        TableName: table.name,
        KeySchema: table.keySchema as never,
        AttributeDefinitions: table.attributeDefinitions as never,
        BillingMode: 'PAY_PER_REQUEST',
        ...(table.globalSecondaryIndexes
          ? {
              GlobalSecondaryIndexes: (
                table.globalSecondaryIndexes as { ProvisionedThroughput?: unknown }[]
              ).map(({ ProvisionedThroughput: _unused, ...index }) => index) as never,
            }
          : {}),
      }),
    );
    if (table.ttlAttribute) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: table.name,
          TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
        }),
      );
    }
  }
}
