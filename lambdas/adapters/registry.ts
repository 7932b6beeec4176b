import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type Application,
  type ClientKey,
  KEY_TYPES,
  type Subscription,
  type SubscriptionStatus,
} from '../core/applications.ts';
import type { KeyType } from '../core/auth.ts';
import type { LifecycleState } from '../core/catalog.ts';
import { hashSecret, newClientId, newClientSecret } from '../core/credentials.ts';
import { GatewayError } from '../core/errors.ts';
import { DEFAULT_PLANS, type Plan } from '../core/plans.ts';
import { queryAll, unlessConditionFails } from './dynamo.ts';

export type Secrets = Record<KeyType, { clientId: string; clientSecret: string }>;

/**
 * The registry: applications, their keys, subscriptions, plans and API lifecycle states, all in one
 * table, every access a GetItem or a Query on a known partition.
 *   pk `TENANT#{tenant}`         sk `APP#{name}`      application
 *   pk `CLIENT#{clientId}`       sk `CLIENT`          one per key, for the token endpoint
 *   pk `EXT#{issuer}#{clientId}` sk `EXT`             an external issuer's client, mapped to an application
 *   pk `APP#{appId}`             sk `SUB#{apiId}`     subscription
 *   pk `PLANS#{tenant}`          sk `PLAN#{name}`     a tenant's plan (over the shipped defaults)
 *   pk `APIS#{tenant}`           sk `API#{apiId}`     lifecycle state set through the management API
 */
export class Registry {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  // --- applications ------------------------------------------------------------------------------

  /** Create an application with both key pairs; the secrets are returned once and stored hashed. */
  async createApplication(input: { tenant: string; name: string; owner: string }): Promise<{
    application: Application;
    secrets: Secrets;
  }> {
    const appId = randomUUID();
    const secrets = Object.fromEntries(
      KEY_TYPES.map((keyType) => [keyType, { clientId: newClientId(), clientSecret: newClientSecret() }]),
    ) as Secrets;
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
    await unlessConditionFails(
      this.db.send(
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
      ),
      () => {
        throw new GatewayError(
          'conflict',
          `an application named ${input.name} already exists in ${input.tenant}`,
        );
      },
    );
    return { application, secrets };
  }

  async getApplication(tenant: string, name: string): Promise<Application | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `TENANT#${tenant}`, sk: `APP#${name}` } }),
    );
    return Item ? strip<Application>(Item) : undefined;
  }

  async listApplications(tenant: string): Promise<Application[]> {
    return (await this.queryAll(`TENANT#${tenant}`, 'APP#')).map((item) => strip<Application>(item));
  }

  /** Delete an application, its keys and its subscriptions. Returns false when there was none. */
  async deleteApplication(tenant: string, name: string): Promise<boolean> {
    const application = await this.getApplication(tenant, name);
    if (!application) return false;
    const subscriptions = await this.listSubscriptions(application.appId);
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
    for (const subscription of subscriptions)
      await this.deleteSubscription(application.appId, subscription.apiId);
    return true;
  }

  /** A new secret for one key of an application; the old one stops working at once. */
  async rotateSecret(
    tenant: string,
    name: string,
    keyType: KeyType,
  ): Promise<{ clientId: string; clientSecret: string }> {
    const application = await this.getApplication(tenant, name);
    if (!application) throw new GatewayError('not_found', `no application ${name} in ${tenant}`);
    const clientId = application.keys[keyType].clientId;
    const clientSecret = newClientSecret();
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `CLIENT#${clientId}`, sk: 'CLIENT' },
        UpdateExpression: 'SET secretHash = :hash',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':hash': hashSecret(clientSecret) },
      }),
    );
    return { clientId, clientSecret };
  }

  async getClient(clientId: string): Promise<ClientKey | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `CLIENT#${clientId}`, sk: 'CLIENT' } }),
    );
    return Item ? strip<ClientKey>(Item) : undefined;
  }

  /** Map an external issuer's client id to an application (its tokens then act for it). */
  async mapExternalClient(issuer: string, clientId: string, application: Application): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `EXT#${issuer}#${clientId}`,
          sk: 'EXT',
          kind: 'external-client',
          issuer,
          clientId,
          appId: application.appId,
          appName: application.name,
          tenant: application.tenant,
        },
      }),
    );
  }

  async getExternalClient(
    issuer: string,
    clientId: string,
  ): Promise<{ appId: string; appName: string; tenant: string } | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `EXT#${issuer}#${clientId}`, sk: 'EXT' } }),
    );
    return Item as { appId: string; appName: string; tenant: string } | undefined;
  }

  // --- subscriptions -----------------------------------------------------------------------------

  async subscribe(application: Application, apiId: string, plan: string): Promise<Subscription> {
    const now = new Date().toISOString();
    const subscription: Subscription = {
      appId: application.appId,
      appName: application.name,
      tenant: application.tenant,
      apiId,
      plan,
      status: 'ACTIVE',
      createdAt: now,
      updatedAt: now,
    };
    await unlessConditionFails(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `APP#${application.appId}`, sk: `SUB#${apiId}`, kind: 'subscription', ...subscription },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
      () => {
        throw new GatewayError('conflict', `${application.name} is already subscribed to ${apiId}`);
      },
    );
    return subscription;
  }

  async getSubscription(appId: string, apiId: string): Promise<Subscription | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `APP#${appId}`, sk: `SUB#${apiId}` } }),
    );
    return Item ? strip<Subscription>(Item) : undefined;
  }

  async listSubscriptions(appId: string): Promise<Subscription[]> {
    return (await this.queryAll(`APP#${appId}`, 'SUB#')).map((item) => strip<Subscription>(item));
  }

  async updateSubscription(
    appId: string,
    apiId: string,
    change: { plan?: string; status?: SubscriptionStatus },
  ): Promise<Subscription> {
    const sets = ['updatedAt = :now'];
    const values: Record<string, unknown> = { ':now': new Date().toISOString() };
    if (change.plan) {
      sets.push('#plan = :plan');
      values[':plan'] = change.plan;
    }
    if (change.status) {
      sets.push('#status = :status');
      values[':status'] = change.status;
    }
    const { Attributes } = await unlessConditionFails(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `APP#${appId}`, sk: `SUB#${apiId}` },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: {
            ...(change.plan ? { '#plan': 'plan' } : {}),
            ...(change.status ? { '#status': 'status' } : {}),
          },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      ),
      () => {
        throw new GatewayError('not_found', `no subscription to ${apiId}`);
      },
    );
    return strip<Subscription>(Attributes as Record<string, unknown>);
  }

  async deleteSubscription(appId: string, apiId: string): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: `APP#${appId}`, sk: `SUB#${apiId}` },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes !== undefined;
  }

  // --- plans -------------------------------------------------------------------------------------

  /** The tenant's plans: its own, and the shipped defaults it has not replaced. */
  async listPlans(tenant: string): Promise<(Plan & { source: 'tenant' | 'default' })[]> {
    const own = (await this.queryAll(`PLANS#${tenant}`, 'PLAN#')).map((item) => strip<Plan>(item));
    const names = new Set(own.map((p) => p.name));
    return [
      ...own.map((p) => ({ ...p, source: 'tenant' as const })),
      ...DEFAULT_PLANS.filter((p) => !names.has(p.name)).map((p) => ({ ...p, source: 'default' as const })),
    ].sort((a, b) => a.name.localeCompare(b.name));
  }

  async getPlan(tenant: string, name: string): Promise<Plan | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `PLANS#${tenant}`, sk: `PLAN#${name}` } }),
    );
    return Item ? strip<Plan>(Item) : DEFAULT_PLANS.find((p) => p.name === name);
  }

  async putPlan(tenant: string, plan: Plan): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `PLANS#${tenant}`, sk: `PLAN#${plan.name}`, kind: 'plan', ...plan },
      }),
    );
  }

  // --- API lifecycle -----------------------------------------------------------------------------

  async getLifecycle(tenant: string, apiId: string): Promise<LifecycleState | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `APIS#${tenant}`, sk: `API#${apiId}` } }),
    );
    return Item?.lifecycle as LifecycleState | undefined;
  }

  async listLifecycles(tenant: string): Promise<Map<string, LifecycleState>> {
    const items = await this.queryAll(`APIS#${tenant}`, 'API#');
    return new Map(items.map((item) => [String(item.apiId), item.lifecycle as LifecycleState]));
  }

  async setLifecycle(tenant: string, apiId: string, lifecycle: LifecycleState): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `APIS#${tenant}`,
          sk: `API#${apiId}`,
          kind: 'api-state',
          apiId,
          lifecycle,
          updatedAt: new Date().toISOString(),
        },
      }),
    );
  }

  private queryAll(pk: string, skPrefix: string): Promise<Record<string, unknown>[]> {
    return queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': skPrefix },
    });
  }
}

function strip<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, kind: _kind, ...rest } = item;
  return rest as T;
}
