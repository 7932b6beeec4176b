import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type Application, type ClientKey, KEY_TYPES } from '../core/applications.ts';
import type { KeyType } from '../core/auth.ts';
import { hashSecret, newClientId, newClientSecret } from '../core/credentials.ts';
import { GatewayError } from '../core/errors.ts';

/**
 * Applications and their keys in the registry table.
 *   pk `TENANT#{tenant}`   sk `APP#{name}`   the application
 *   pk `CLIENT#{clientId}` sk `CLIENT`       one per key, for the token endpoint
 */
export class Registry {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Create an application with both key pairs; the secrets are returned once and stored hashed. */
  async createApplication(input: { tenant: string; name: string; owner: string }): Promise<{
    application: Application;
    secrets: Record<KeyType, { clientId: string; clientSecret: string }>;
  }> {
    const appId = randomUUID();
    const secrets = Object.fromEntries(
      KEY_TYPES.map((keyType) => [keyType, { clientId: newClientId(), clientSecret: newClientSecret() }]),
    ) as Record<KeyType, { clientId: string; clientSecret: string }>;
    const application: Application = {
      appId,
      tenant: input.tenant,
      name: input.name,
      owner: input.owner,
      createdAt: new Date().toISOString(),
      keys: {
        PRODUCTION: { clientId: secrets.PRODUCTION.clientId },
        SANDBOX: { clientId: secrets.SANDBOX.clientId },
      },
    };
    const clients: ClientKey[] = KEY_TYPES.map((keyType) => ({
      clientId: secrets[keyType].clientId,
      appId,
      appName: input.name,
      tenant: input.tenant,
      keyType,
      secretHash: hashSecret(secrets[keyType].clientSecret),
    }));
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  pk: `TENANT#${input.tenant}`,
                  sk: `APP#${input.name}`,
                  kind: 'application',
                  ...application,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            ...clients.map((client) => ({
              Put: {
                TableName: this.tableName,
                Item: { pk: `CLIENT#${client.clientId}`, sk: 'CLIENT', kind: 'client', ...client },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            })),
          ],
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'TransactionCanceledException') {
        throw new GatewayError(
          'conflict',
          `an application named ${input.name} already exists in ${input.tenant}`,
        );
      }
      throw error;
    }
    return { application, secrets };
  }

  async getApplication(tenant: string, name: string): Promise<Application | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `TENANT#${tenant}`, sk: `APP#${name}` } }),
    );
    return Item ? strip<Application>(Item) : undefined;
  }

  /** Delete an application and its keys. Returns false when there was none. */
  async deleteApplication(tenant: string, name: string): Promise<boolean> {
    const application = await this.getApplication(tenant, name);
    if (!application) return false;
    await this.db.send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: this.tableName, Key: { pk: `TENANT#${tenant}`, sk: `APP#${name}` } } },
          ...KEY_TYPES.map((keyType) => ({
            Delete: {
              TableName: this.tableName,
              Key: { pk: `CLIENT#${application.keys[keyType].clientId}`, sk: 'CLIENT' },
            },
          })),
        ],
      }),
    );
    return true;
  }

  async getClient(clientId: string): Promise<ClientKey | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `CLIENT#${clientId}`, sk: 'CLIENT' } }),
    );
    return Item ? strip<ClientKey>(Item) : undefined;
  }
}

function strip<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, kind: _kind, ...rest } = item;
  return rest as T;
}
