import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isLimited, type Plan, windowOf } from '../core/plans.ts';
import { conditionMet, unlessConditionFails } from './dynamo.ts';

export interface Reservation {
  /** Events the subscription may send or receive now (≤ asked). */
  granted: number;
  /** Events refused or dropped. */
  throttled: number;
}

/** Counter items outlive their window by a day, for usage reports. */
const KEEP_AFTER_WINDOW_MS = 86_400_000;
const MAX_RACE_RETRIES = 20;

/**
 * Plan counters in the throttling table, one item per subscription and fixed window:
 *   pk `TH#{subscription}#{window}` sk `W`   used, throttled, limit, expiresAt
 *   pk `CC#{subscription}`          sk `C`   connections (concurrent)
 * A reservation of N events is one conditional write: never more than the limit is granted, however
 * many functions race, and a fan-out of N deliveries to one subscription costs one write, not N.
 */
export class ThrottleStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async reserve(subscription: string, plan: Plan, events: number, now = Date.now()): Promise<Reservation> {
    if (events <= 0) return { granted: 0, throttled: 0 };
    if (!isLimited(plan)) {
      // Unlimited plans are counted too, for usage reports, but never refused.
      await this.add(subscription, 'day', events, 0, undefined, now);
      return { granted: events, throttled: 0 };
    }
    const window = windowOf(plan.per, now);
    const key = { pk: `TH#${subscription}#${window.key}`, sk: 'W' };
    const expiresAt = Math.floor((window.endsAt + KEEP_AFTER_WINDOW_MS) / 1000);
    let ask = events;
    let condition: { expression: string; values: Record<string, number> } = {
      expression: 'attribute_not_exists(used) OR used <= :max',
      values: { ':max': plan.events - ask },
    };
    for (let attempt = 0; attempt < MAX_RACE_RETRIES; attempt++) {
      const failure = await unlessConditionFails(
        this.db
          .send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: key,
              UpdateExpression:
                'SET used = if_not_exists(used, :zero) + :n, throttled = if_not_exists(throttled, :zero) + :t, #limit = :limit, expiresAt = :exp',
              ConditionExpression: condition.expression,
              ExpressionAttributeNames: { '#limit': 'limit' },
              ExpressionAttributeValues: {
                ':n': ask,
                ':t': events - ask,
                ':zero': 0,
                ':limit': plan.events,
                ':exp': expiresAt,
                ...condition.values,
              },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          )
          .then(() => undefined),
        (error) => error,
      );
      if (!failure) return { granted: ask, throttled: events - ask };
      const used = await this.usedAfterFailure(key, failure);
      const remaining = Math.max(0, plan.events - used);
      if (remaining === 0) {
        await this.add(subscription, plan.per, 0, events, plan.events, now);
        return { granted: 0, throttled: events };
      }
      // Take exactly what is left, provided nobody took it meanwhile.
      ask = Math.min(events, remaining);
      condition = { expression: 'used = :seen', values: { ':seen': used } };
    }
    // Lost every race: refuse rather than risk going over the limit.
    await this.add(subscription, plan.per, 0, events, plan.events, now);
    return { granted: 0, throttled: events };
  }

  /** Events left in the current window (Infinity for unlimited plans). */
  async remaining(subscription: string, plan: Plan, now = Date.now()): Promise<number> {
    if (!isLimited(plan)) return Number.POSITIVE_INFINITY;
    const usage = await this.usage(subscription, plan, now);
    return Math.max(0, plan.events - usage.used);
  }

  async usage(
    subscription: string,
    plan: Plan,
    now = Date.now(),
  ): Promise<{ window: string; used: number; throttled: number; limit?: number; resetsAt: string }> {
    const per = isLimited(plan) ? plan.per : 'day';
    const window = windowOf(per, now);
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `TH#${subscription}#${window.key}`, sk: 'W' },
        ConsistentRead: true,
      }),
    );
    return {
      window: window.key,
      used: Number(Item?.used ?? 0),
      throttled: Number(Item?.throttled ?? 0),
      ...(isLimited(plan) ? { limit: plan.events } : {}),
      resetsAt: new Date(window.endsAt).toISOString(),
    };
  }

  /** Count a connection against a plan's concurrent-connection cap; false when the cap is reached. */
  acquireConnection(subscription: string, max: number): Promise<boolean> {
    return conditionMet(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `CC#${subscription}`, sk: 'C' },
          UpdateExpression: 'ADD connections :one',
          ConditionExpression: 'attribute_not_exists(connections) OR connections < :max',
          ExpressionAttributeValues: { ':one': 1, ':max': max },
        }),
      ),
    );
  }

  /**
   * Whether to tell a throttled connection now: true once per `periodMs` per connection, across
   * every execution environment (a conditional write, made only on the refusal path).
   */
  claimNotice(connectionId: string, periodMs: number, now = Date.now()): Promise<boolean> {
    return conditionMet(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `TN#${connectionId}`, sk: 'N' },
          UpdateExpression: 'SET #until = :until, expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(#until) OR #until < :now',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: {
            ':until': now + periodMs,
            ':now': now,
            ':exp': Math.floor((now + periodMs) / 1000) + 3600,
          },
        }),
      ),
    );
  }

  /** Give a connection's slot back; a counter already at zero stays there (a repeated release). */
  async releaseConnection(subscription: string): Promise<void> {
    await conditionMet(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `CC#${subscription}`, sk: 'C' },
          UpdateExpression: 'ADD connections :minus',
          ConditionExpression: 'connections > :zero',
          ExpressionAttributeValues: { ':minus': -1, ':zero': 0 },
        }),
      ),
    );
  }

  private async add(
    subscription: string,
    per: 'minute' | 'hour' | 'day' | 'month',
    used: number,
    throttled: number,
    limit: number | undefined,
    now: number,
  ): Promise<void> {
    const window = windowOf(per, now);
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `TH#${subscription}#${window.key}`, sk: 'W' },
        UpdateExpression: `ADD used :used, throttled :throttled SET expiresAt = :exp${limit === undefined ? '' : ', #limit = :limit'}`,
        ...(limit === undefined ? {} : { ExpressionAttributeNames: { '#limit': 'limit' } }),
        ExpressionAttributeValues: {
          ':used': used,
          ':throttled': throttled,
          ':exp': Math.floor((window.endsAt + KEEP_AFTER_WINDOW_MS) / 1000),
          ...(limit === undefined ? {} : { ':limit': limit }),
        },
      }),
    );
  }

  /** The counter's value when a reservation's condition failed (from the error, else read). */
  private async usedAfterFailure(
    key: { pk: string; sk: string },
    error: { Item?: unknown },
  ): Promise<number> {
    const item = error.Item as { used?: { N?: string } } | undefined;
    if (item?.used?.N !== undefined) return Number(item.used.N);
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return Number(Item?.used ?? 0);
  }
}
