/**
 * The access decision: may this client open, or act on, a topic of an API? One decision for the
 * handshake (`admit`) and for the frames and control messages of an open connection (`authorize`),
 * so every path refuses with the same rules and the same words.
 *
 * Order of the checks (the first failing one answers), as WSO2's gateway does:
 *   lifecycle → token → tenant → scopes → application → subscription → plan → connection slot.
 */
import {
  connectScopes,
  extractToken,
  type Principal,
  requireLifecycleAllowsConnect,
  requireScopes,
  requireTenant,
} from '../core/auth.ts';
import type { ApiDef, LifecycleState } from '../core/catalog.ts';
import type { ConnectionRecord } from '../core/connection.ts';
import {
  type AppRef,
  connectionSlotsTaken,
  type Entitlement,
  planExhausted,
  requireActiveEntitlement,
  requireApplication,
} from '../core/entitlement.ts';
import { forbidden, GatewayError, unauthorized } from '../core/errors.ts';
import { isLimited, type Plan } from '../core/plans.ts';
import type { Target } from '../core/target.ts';

/** The registry reads the decision needs (`adapters/access.ts` AccessDirectory, cached). */
export interface AccessReads {
  lifecycleOf(api: Pick<ApiDef, 'id' | 'tenant' | 'lifecycle'>): Promise<LifecycleState>;
  applicationOf(principal: Principal): Promise<AppRef | undefined>;
  entitlement(app: AppRef, api: Pick<ApiDef, 'id' | 'tenant' | 'plans'>): Promise<Entitlement | undefined>;
}

/** The plan counters the decision needs (`adapters/throttle-store.ts` ThrottleStore). */
export interface PlanCounters {
  remaining(subscription: string, plan: Plan): Promise<number>;
  reserve(subscription: string, plan: Plan, events: number): Promise<{ granted: number }>;
  acquireConnection(subscription: string, max: number, connectionId: string): Promise<boolean>;
  releaseConnection(subscription: string, connectionId: string): Promise<void>;
}

/** Verifies an access token (signature, issuer, audience, expiry) into a principal, or throws 401. */
export interface TokenVerification {
  verify(token: string): Promise<Principal>;
}

/** What a handshake carries that the decision reads: its headers and query string, and the connection id. */
export interface HandshakeCredentials {
  /** API Gateway's id of the connection being opened: a plan's connection slot is held in its name. */
  connectionId?: string;
  headers?: Record<string, string | undefined> | undefined;
  query?: Record<string, string | undefined> | undefined;
}

/** A connection let in: who (absent on open channels), what it counts against, the slot it holds. */
export interface Admission {
  principal?: Principal;
  entitlement?: Entitlement;
  /** The connection slot taken: the subscription's counter key and the connection (give it back with `release`). */
  slot?: { subscription: string; connectionId: string };
}

/** What a connected client asks to do on a topic. */
export type Operation = 'publish' | 'subscribe';

export class AccessDecision {
  constructor(
    private readonly reads: AccessReads,
    private readonly counters: PlanCounters,
    /** Only `admit` verifies tokens: later frames are decided on the principal stored at `$connect`. */
    private readonly tokens?: TokenVerification,
  ) {}

  /**
   * `$connect`: the API's lifecycle, then — unless the API is unsecured or the channel open — the
   * token, its tenant and scopes, the application's subscription and plan, and a connection slot
   * when the plan caps them. Throws a GatewayError (401/403/429) to refuse.
   */
  async admit(target: Target, credentials: HandshakeCredentials): Promise<Admission> {
    // The management API may have moved the API to another lifecycle state since it was deployed.
    requireLifecycleAllowsConnect(target.api, await this.reads.lifecycleOf(target.api));
    if (!target.api.secured || target.channel.open) return {};

    const token = extractToken(credentials.headers, credentials.query);
    if (!token) {
      throw unauthorized(
        'an access token is required: send "Authorization: Bearer <token>" or ?access_token=<token>',
      );
    }
    if (!this.tokens) throw new GatewayError('internal_error', 'this function verifies no access tokens');
    const principal = await this.tokens.verify(token);
    requireTenant(principal, target.api);
    requireScopes(principal, connectScopes(target.channel), `connect to ${target.channel.name}`);
    const app = requireApplication(principal, await this.reads.applicationOf(principal));
    const entitlement = await this.entitlementOf(app, target.api, 'handshake');
    if (
      isLimited(entitlement.plan) &&
      (await this.counters.remaining(entitlement.key, entitlement.plan)) <= 0
    ) {
      throw planExhausted(entitlement, 'handshake');
    }
    const slot = await this.takeConnectionSlot(entitlement, credentials.connectionId);
    return { principal, entitlement, ...(slot ? { slot } : {}) };
  }

  /** Give back what `admit` took when the connection is not registered after all. */
  async release(admission: Admission | undefined): Promise<void> {
    if (admission?.slot)
      await this.counters.releaseConnection(admission.slot.subscription, admission.slot.connectionId);
  }

  /** A token that expired while connected still receives, but may not act (401). */
  requireLiveToken(record: ConnectionRecord, now = Date.now()): void {
    if (record.principal && record.principal.expiresAt * 1000 < now) {
      throw unauthorized('the access token of this connection has expired; connect again with a new token');
    }
  }

  /**
   * A frame or control message of an open connection. `publish`: the channel takes client frames,
   * the token is live and holds the channel's publish scopes, and the sender's plan is charged one
   * event (its subscription must still be active). `subscribe`: the channel can be subscribed to and
   * the token holds its subscribe scopes.
   */
  async authorize(record: ConnectionRecord, target: Target, operation: Operation): Promise<void> {
    if (operation === 'subscribe') {
      if (!target.channel.sub) {
        throw forbidden(`topic ${target.topic} cannot be subscribed to (it is publish only)`);
      }
      if (record.principal)
        requireScopes(record.principal, target.channel.subScopes, `subscribe to ${target.channel.name}`);
      return;
    }
    if (!target.channel.pub) {
      throw forbidden(`topic ${target.topic} does not take messages from clients (it is subscribe only)`, {
        topic: target.topic,
      });
    }
    this.requireLiveToken(record);
    if (record.principal)
      requireScopes(record.principal, target.channel.pubScopes, `publish to ${target.channel.name}`);
    await this.chargeSender(record, target.api);
  }

  /** A published frame is one event of the sender's plan; a blocked or exhausted subscription may not publish. */
  private async chargeSender(record: ConnectionRecord, api: ApiDef): Promise<void> {
    if (!record.app) return;
    const entitlement = await this.entitlementOf(record.app, api, 'frame');
    const { granted } = await this.counters.reserve(entitlement.key, entitlement.plan, 1);
    if (granted === 0) throw planExhausted(entitlement, 'frame');
  }

  /** The application must be subscribed (or the API allow subscriptionless access), and active. */
  private async entitlementOf(app: AppRef, api: ApiDef, stage: 'handshake' | 'frame') {
    return requireActiveEntitlement(app, api, await this.reads.entitlement(app, api), stage);
  }

  /** A plan that caps concurrent connections: take a slot, or refuse with 429. */
  private async takeConnectionSlot(
    entitlement: Entitlement,
    connectionId: string | undefined,
  ): Promise<Admission['slot']> {
    const max = entitlement.plan.maxConnections;
    if (max === undefined) return undefined;
    if (!connectionId) throw new GatewayError('internal_error', 'a connection slot needs the connection id');
    if (!(await this.counters.acquireConnection(entitlement.key, max, connectionId))) {
      throw connectionSlotsTaken(entitlement, max);
    }
    return { subscription: entitlement.key, connectionId };
  }
}
