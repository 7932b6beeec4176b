import {
  type DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
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
 * How long a connection slot is held without a release: API Gateway's maximum WebSocket connection
 * duration (2 hours) and 15 minutes for a `$disconnect` that is late or never comes.
 */
export const CONNECTION_SLOT_MS = (2 * 60 + 15) * 60_000;
/** Expired slots dropped per write (keeps the update expression well under DynamoDB's 4 KB). */
const MAX_PRUNED_SLOTS = 50;

/** The slots of a connection-slot item as a condition failure returns it (raw attribute values). */
function slotsOf(item: Record<string, unknown> | undefined): Record<string, number> | undefined {
  const slots = (item?.slots as { M?: Record<string, { N?: string }> } | undefined)?.M;
  if (!slots) return undefined;
  return Object.fromEntries(Object.entries(slots).map(([id, value]) => [id, Number(value.N)]));
}

/**
 * Plan counters in the throttling table, one item per subscription and fixed window:
 *   pk `TH#{subscription}#{window}` sk `W`   used, throttled, limit, expiresAt
 *   pk `CC#{subscription}`          sk `C`   slots: connection id → slot expiry (epoch s), expiresAt
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
      const failure = await this.updateUnlessRefused({
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
      });
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

  /**
   * Take a connection slot of a plan's concurrent-connection cap for `connectionId`; false when
   * `max` live slots are held. One slot per connection, kept until released or until
   * {@link CONNECTION_SLOT_MS} after `now` (API Gateway closes every WebSocket connection within
   * 2 hours, so an expired slot belongs to a connection whose `$disconnect` never arrived). Taking a
   * slot the connection already holds succeeds and renews it. Expired slots are pruned in the same
   * conditional write that takes the new one, so the cap is exact however many functions race.
   * @param now epoch ms (injectable clock)
   */
  async acquireConnection(
    subscription: string,
    max: number,
    connectionId: string,
    now = Date.now(),
  ): Promise<boolean> {
    const nowSeconds = Math.floor(now / 1000);
    const until = Math.floor((now + CONNECTION_SLOT_MS) / 1000);
    const key = { pk: `CC#${subscription}`, sk: 'C' };
    for (let attempt = 0; attempt < MAX_RACE_RETRIES; attempt++) {
      // Room left, or the connection already holds a slot (a repeated $connect): take or renew it.
      const refused = await this.updateUnlessRefused({
        Key: key,
        UpdateExpression: 'SET slots.#connection = :until, expiresAt = :until',
        ConditionExpression:
          'attribute_exists(slots) AND (size(slots) < :max OR attribute_exists(slots.#connection))',
        ExpressionAttributeNames: { '#connection': connectionId },
        ExpressionAttributeValues: { ':until': until, ':max': max },
      });
      if (!refused) return true;
      const slots = refused.Item ? slotsOf(refused.Item) : await this.readSlots(key);
      if (!slots) {
        // No slot item yet (or a counter of the old `connections` shape, dropped here): create it.
        if (
          await this.updated({
            Key: key,
            UpdateExpression: 'SET slots = :slots, expiresAt = :until REMOVE connections',
            ConditionExpression: 'attribute_not_exists(slots)',
            ExpressionAttributeValues: { ':slots': { [connectionId]: until }, ':until': until },
          })
        )
          return true;
        continue;
      }
      const expired = Object.entries(slots)
        .filter(([id, expiresAt]) => id !== connectionId && expiresAt <= nowSeconds)
        .slice(0, MAX_PRUNED_SLOTS)
        .map(([id]) => id);
      if (!expired.length) {
        // What the refusal saw may be older than the race it lost: try again while there is room.
        if (Object.keys(slots).length < max) continue;
        return false; // every slot belongs to a live connection
      }
      // Drop the expired slots (still expired when the write lands) and take one: after it the item
      // holds size - expired + 1 slots, at most max exactly when size < max + expired.
      const names = Object.fromEntries(expired.map((id, i) => [`#e${i}`, id]));
      if (
        await this.updated({
          Key: key,
          UpdateExpression: `REMOVE ${Object.keys(names)
            .map((name) => `slots.${name}`)
            .join(', ')} SET slots.#connection = :until, expiresAt = :until`,
          ConditionExpression: [
            'size(slots) < :room',
            ...Object.keys(names).map((name) => `slots.${name} <= :now`),
          ].join(' AND '),
          ExpressionAttributeNames: { ...names, '#connection': connectionId },
          ExpressionAttributeValues: {
            ':until': until,
            ':room': max + expired.length,
            ':now': nowSeconds,
          },
        })
      )
        return true;
    }
    // Lost every race: refuse rather than risk going over the cap.
    return false;
  }

  /**
   * Whether to tell a throttled connection now: true once per `periodMs` per connection, across
   * every execution environment (a conditional write, made only on the refusal path).
   */
  claimNotice(connectionId: string, periodMs: number, now = Date.now()): Promise<boolean> {
    return this.updated({
      Key: { pk: `TN#${connectionId}`, sk: 'N' },
      UpdateExpression: 'SET #until = :until, expiresAt = :exp',
      ConditionExpression: 'attribute_not_exists(#until) OR #until < :now',
      ExpressionAttributeNames: { '#until': 'until' },
      ExpressionAttributeValues: {
        ':until': now + periodMs,
        ':now': now,
        ':exp': Math.floor((now + periodMs) / 1000) + 3600,
      },
    });
  }

  /** Give a connection's slot back; releasing a slot it does not hold (any more) is a no-op. */
  async releaseConnection(subscription: string, connectionId: string): Promise<void> {
    await this.updated({
      Key: { pk: `CC#${subscription}`, sk: 'C' },
      UpdateExpression: 'REMOVE slots.#connection',
      ConditionExpression: 'attribute_exists(slots.#connection)',
      ExpressionAttributeNames: { '#connection': connectionId },
    });
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

  /** Whether a conditional update of this table was made (false: its condition failed). */
  private updated(input: Omit<UpdateCommandInput, 'TableName'>): Promise<boolean> {
    return conditionMet(this.db.send(new UpdateCommand({ ...input, TableName: this.tableName })));
  }

  /**
   * A conditional update of this table: undefined when made, the condition failure (with the old
   * item, raw, in `Item` when it exists) when refused; other errors are thrown.
   */
  private updateUnlessRefused(
    input: Omit<UpdateCommandInput, 'TableName' | 'ReturnValuesOnConditionCheckFailure'>,
  ): Promise<undefined | (Error & { Item?: Record<string, unknown> })> {
    return unlessConditionFails(
      this.db
        .send(
          new UpdateCommand({
            ...input,
            TableName: this.tableName,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        )
        .then(() => undefined),
      (error) => error,
    );
  }

  /** The slots of a connection-slot item, read (undefined when there is none). */
  private async readSlots(key: { pk: string; sk: string }): Promise<Record<string, number> | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return Item?.slots as Record<string, number> | undefined;
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
