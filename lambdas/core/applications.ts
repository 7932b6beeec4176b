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

const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/;

export function validApplicationName(name: string): boolean {
  return APP_NAME.test(name);
}
