/**
 * What a connection's events count against, and the rules that refuse access on it: one set of
 * refusals for the handshake (`$connect`) and for every later frame, so both say the same thing.
 */
import type { SubscriptionStatus } from './applications.ts';
import type { Principal } from './auth.ts';
import type { ApiDef } from './catalog.ts';
import { forbidden, GatewayError } from './errors.ts';
import type { Plan } from './plans.ts';

/** The application a token acts for (`appId` is the registry's id, `appName` its name). */
export interface AppRef {
  appId: string;
  appName: string;
}

/** What a connection's events count against: an application's subscription to an API, with its plan. */
export interface Entitlement {
  /** The counter key: application + API (`subscriptionKey`). */
  key: string;
  appId: string;
  appName: string;
  apiId: string;
  plan: Plan;
  status: SubscriptionStatus;
  /** No subscription: the API offers AsyncDefaultSubscriptionless. */
  subscriptionless: boolean;
}

/**
 * When the decision is taken: at the handshake, or on a frame of an open connection (whose
 * subscription may have been removed or blocked since).
 */
export type AccessStage = 'handshake' | 'frame';

/** 403 when a token's client is mapped to no application (external issuers need a mapping). */
export function requireApplication(principal: Principal, app: AppRef | undefined): AppRef {
  if (!app) {
    throw forbidden(`client ${principal.clientId} of ${principal.issuer} is not mapped to an application`);
  }
  return app;
}

/** 403 unless the application holds an ACTIVE subscription (or subscriptionless access) to the API. */
export function requireActiveEntitlement(
  app: AppRef,
  api: Pick<ApiDef, 'name' | 'version'>,
  entitlement: Entitlement | undefined,
  stage: AccessStage,
): Entitlement {
  if (!entitlement) {
    throw forbidden(
      `application ${app.appName} is ${stage === 'frame' ? 'no longer' : 'not'} subscribed to API ${api.name} ${api.version}`,
    );
  }
  if (entitlement.status !== 'ACTIVE') {
    throw forbidden(
      `the subscription of ${app.appName} to API ${api.name} ${api.version} is ${entitlement.status}`,
    );
  }
  return entitlement;
}

/**
 * 429 for a plan whose events are used up: at the handshake (nothing left this period) or for a
 * frame the plan refused to count.
 */
export function planExhausted(entitlement: Entitlement, stage: AccessStage): GatewayError {
  const { plan } = entitlement;
  return stage === 'handshake'
    ? new GatewayError(
        'too_many_requests',
        `application ${entitlement.appName} has used all ${plan.events} events of plan ${plan.name} this ${plan.per}`,
      )
    : new GatewayError(
        'too_many_requests',
        `plan ${plan.name} allows ${plan.events} events per ${plan.per}; this one was refused`,
        { plan: plan.name },
      );
}

/** 429 when the plan's concurrent connections (`maxConnections`) are all held. */
export function connectionSlotsTaken(entitlement: Entitlement, max: number): GatewayError {
  return new GatewayError(
    'too_many_requests',
    `application ${entitlement.appName} already holds the ${max} connections plan ${entitlement.plan.name} allows`,
  );
}
