import type { KeyType } from './auth.ts';

/** An OAuth2 client application of one tenant, with a PRODUCTION and a SANDBOX key pair. */
export interface Application {
  appId: string;
  tenant: string;
  name: string;
  owner: string;
  createdAt: string;
  keys: Record<KeyType, { clientId: string }>;
}

/** One key of an application, looked up by client id at the token endpoint. */
export interface ClientKey {
  clientId: string;
  appId: string;
  appName: string;
  tenant: string;
  keyType: KeyType;
  secretHash: string;
}

export const KEY_TYPES: readonly KeyType[] = ['PRODUCTION', 'SANDBOX'];

/** An application name: starts with a letter or digit; letters, digits, spaces, ".", "_", "-"; at most 100. */
export const APPLICATION_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/;

export function validApplicationName(name: string): boolean {
  return APPLICATION_NAME.test(name);
}

/** ACTIVE subscriptions grant access; BLOCKED ones are kept (with their plan) but refused. */
export type SubscriptionStatus = 'ACTIVE' | 'BLOCKED';

/**
 * An application's subscription to one API version, with a business plan (WSO2's subscription).
 * `createdAt`/`updatedAt` are ISO-8601 timestamps.
 */
export interface Subscription {
  appId: string;
  appName: string;
  tenant: string;
  /** The API's catalog id, `{tenant}/{name}/{version}`. */
  apiId: string;
  /** The plan's name within the tenant (see core/plans.ts). */
  plan: string;
  status: SubscriptionStatus;
  createdAt: string;
  updatedAt: string;
}

/** The statuses a subscription can be set to through the management API. */
export const SUBSCRIPTION_STATUSES: readonly SubscriptionStatus[] = ['ACTIVE', 'BLOCKED'];
