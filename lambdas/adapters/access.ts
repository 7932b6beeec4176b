import type { Principal } from '../core/auth.ts';
import type { ApiDef, LifecycleState } from '../core/catalog.ts';
import type { AppRef, Entitlement } from '../core/entitlement.ts';
import { SUBSCRIPTIONLESS_PLAN, subscriptionKey } from '../core/plans.ts';
import { TtlCache } from '../core/ttl-cache.ts';
import type { Registry } from './registry.ts';

/**
 * The registry as the gateway reads it on hot paths: applications behind tokens, subscriptions
 * and their plans, API lifecycle states — each cached for a few seconds per execution environment.
 */
export class AccessDirectory {
  private readonly applications: TtlCache<AppRef | undefined>;
  private readonly entitlements: TtlCache<Entitlement | undefined>;
  private readonly lifecycles: TtlCache<LifecycleState | undefined>;

  /** `cacheMs`: how long a subscription, plan or lifecycle change may take to reach a running function. */
  constructor(
    private readonly registry: Registry,
    private readonly builtInIssuer: string,
    cacheMs = 5_000,
  ) {
    this.applications = new TtlCache(Math.max(cacheMs, 60_000));
    this.entitlements = new TtlCache(cacheMs);
    this.lifecycles = new TtlCache(cacheMs);
  }

  /** The application a token acts for: the built-in issuer names it; external clients are mapped. */
  async applicationOf(principal: Principal): Promise<AppRef | undefined> {
    if (principal.issuer === this.builtInIssuer && principal.appId && principal.appName) {
      return { appId: principal.appId, appName: principal.appName };
    }
    const key = `${principal.issuer}|${principal.clientId}`;
    const app = await this.applications.get(key, async () => {
      if (principal.issuer === this.builtInIssuer) {
        const client = await this.registry.getClient(principal.clientId);
        return client ? { appId: client.appId, appName: client.appName } : undefined;
      }
      const mapped = await this.registry.getExternalClient(principal.issuer, principal.clientId);
      return mapped ? { appId: mapped.appId, appName: mapped.appName } : undefined;
    });
    // Only found applications are remembered: a client mapped a moment ago must work at once.
    if (!app) this.applications.delete(key);
    return app;
  }

  /**
   * The application's subscription to the API, with its plan; or subscriptionless access where the
   * API offers AsyncDefaultSubscriptionless; or undefined.
   */
  async entitlement(
    app: AppRef,
    api: Pick<ApiDef, 'id' | 'tenant' | 'plans'>,
  ): Promise<Entitlement | undefined> {
    return this.entitlements.get(`${app.appId}|${api.id}`, async (): Promise<Entitlement | undefined> => {
      const subscription = await this.registry.getSubscription(app.appId, api.id);
      const planName =
        subscription?.plan ?? (api.plans.includes(SUBSCRIPTIONLESS_PLAN) ? SUBSCRIPTIONLESS_PLAN : undefined);
      if (!planName) return undefined;
      const plan = (await this.registry.getPlan(api.tenant, planName)) ?? {
        name: planName,
        events: 0,
        per: 'day',
      };
      return {
        key: subscriptionKey(app.appId, api.id),
        appId: app.appId,
        appName: app.appName,
        apiId: api.id,
        plan,
        status: subscription?.status ?? 'ACTIVE',
        subscriptionless: !subscription,
      };
    });
  }

  /** The API's lifecycle state: set through the management API, else as the definition says. */
  async lifecycleOf(api: Pick<ApiDef, 'id' | 'tenant' | 'lifecycle'>): Promise<LifecycleState> {
    return (
      (await this.lifecycles.get(api.id, () => this.registry.getLifecycle(api.tenant, api.id))) ??
      api.lifecycle
    );
  }
}
