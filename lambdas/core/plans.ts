/**
 * Business plans and the arithmetic of throttling: fixed windows per subscription, and how many of
 * N events a subscription may still take.
 */
import defaults from './data/default-plans.json' with { type: 'json' };

export type PlanPeriod = 'minute' | 'hour' | 'day' | 'month';

export interface Plan {
  name: string;
  description?: string;
  /** Events (frames in either direction) per period; absent: unlimited. */
  events?: number;
  per?: PlanPeriod;
  /** Concurrent connections per subscription; absent: unlimited. */
  maxConnections?: number;
}

export const SUBSCRIPTIONLESS_PLAN = 'AsyncDefaultSubscriptionless';

export const DEFAULT_PLANS: readonly Plan[] = (defaults as { plans: Plan[] }).plans;

/** A plan name: letters, digits, "_" and "-", at most 64 (the management API's schemas check it). */
export const PLAN_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** The windows a plan counts events in. */
export const PLAN_PERIODS: readonly PlanPeriod[] = ['minute', 'hour', 'day', 'month'];

export function isLimited(plan: Plan): plan is Plan & { events: number; per: PlanPeriod } {
  return plan.events !== undefined && plan.per !== undefined;
}

/** The fixed window `at` falls in: its key and when it ends (epoch ms), in UTC. */
export function windowOf(per: PlanPeriod, at: number): { key: string; endsAt: number } {
  const d = new Date(at);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (per) {
    case 'minute': {
      const start = Math.floor(at / 60_000) * 60_000;
      return { key: `m${start / 60_000}`, endsAt: start + 60_000 };
    }
    case 'hour': {
      const start = Math.floor(at / 3_600_000) * 3_600_000;
      return { key: `h${start / 3_600_000}`, endsAt: start + 3_600_000 };
    }
    case 'day': {
      const start = Date.UTC(y, m, d.getUTCDate());
      return { key: `d${new Date(start).toISOString().slice(0, 10)}`, endsAt: start + 86_400_000 };
    }
    case 'month':
      return { key: `M${y}-${String(m + 1).padStart(2, '0')}`, endsAt: Date.UTC(y, m + 1, 1) };
  }
}

/**
 * The key events are counted under: a subscription (application + API), or for subscriptionless
 * access the application's own use of the API.
 */
export function subscriptionKey(appId: string, apiId: string): string {
  return `${appId}|${apiId}`;
}
