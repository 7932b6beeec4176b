/**
 * The access decision: may this client open, or act on, a topic of an API? One decision for the
 * handshake (`admit`) and for the frames and control messages of an open connection (`authorize`),
 * so every path refuses with the same rules and the same words.
 *
 * Order of the checks (the first failing one answers), as WSO2's gateway does:
 *   handshake: lifecycle → token → tenant → scopes → key type → application → subscription → plan →
 *              connection slot;
 *   a frame:   lifecycle (BLOCKED/RETIRED close the connection) → plan (every frame is one event) →
 *              then, for the topic it acts on: direction → token (a secured channel needs one) →
 *              live token → tenant → scopes → key type → the channel handler's veto.
 */
import {
  connectScopes,
  extractToken,
  lifecycleServesConnections,
  type Principal,
  requireKeyTypeServed,
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
import { ClosingRefusal, forbidden, GatewayError, unauthorized } from '../core/errors.ts';
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

/**
 * The channel's own say on a topic instance other than the connection's (a handler channel's
 * onConnect decides which instances exist): throws a GatewayError to refuse
 * (`usecases/backends.ts` ChannelBackends.authorizeTopic).
 */
export interface TopicVeto {
  authorizeTopic(record: ConnectionRecord, target: Target): Promise<void>;
}

export class AccessDecision {
  constructor(
    private readonly reads: AccessReads,
    private readonly counters: PlanCounters,
    /** Only `admit` verifies tokens: later frames are decided on the principal stored at `$connect`. */
    private readonly tokens?: TokenVerification,
    /** Only `authorize` asks it, for topic instances other than the connection's own. */
    private readonly veto?: TopicVeto,
  ) {}

  /**
   * `$connect`: the API's lifecycle, then — unless the API is unsecured — the token, its tenant and
   * scopes, its key type, the application's subscription and plan, and a connection slot when the
   * plan caps them. An open channel (`x-auth-type: None`) takes connections without a token; one
   * that presents a token is that application's, checked the same way (but for scopes), so its
   * later control messages to secured channels are decided on it. Throws a GatewayError
   * (401/403/429) to refuse.
   */
  async admit(target: Target, credentials: HandshakeCredentials): Promise<Admission> {
    // The management API may have moved the API to another lifecycle state since it was deployed.
    requireLifecycleAllowsConnect(target.api, await this.reads.lifecycleOf(target.api));
    if (!target.api.secured) return {};

    const token = extractToken(credentials.headers, credentials.query);
    if (!token && target.channel.open) return {};
    if (!token) {
      throw unauthorized(
        'an access token is required: send "Authorization: Bearer <token>" or ?access_token=<token>',
      );
    }
    if (!this.tokens) throw new GatewayError('internal_error', 'this function verifies no access tokens');
    const principal = await this.tokens.verify(token);
    requireTenant(principal, target.api);
    if (!target.channel.open)
      requireScopes(principal, connectScopes(target.channel), `connect to ${target.channel.name}`);
    requireKeyTypeServed(principal.keyType, target.api);
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
   * Every frame of an open connection, before it is even parsed (raw frames, control messages,
   * malformed ones alike): the API must still serve connections — BLOCKED or RETIRED refuses with
   * a ClosingRefusal, after which the connection is closed — and the frame is one event of the
   * sender's plan (its subscription must still be active; exhausted: 429). The acknowledgement or
   * error frame that answers it is part of that one event. Connections without an application
   * (open channels without a token, unsecured APIs) are not charged.
   */
  async admitFrame(record: ConnectionRecord, api: ApiDef): Promise<void> {
    const state = await this.reads.lifecycleOf(api);
    if (!lifecycleServesConnections(state)) {
      throw new ClosingRefusal(
        `API ${api.name} ${api.version} is ${state}: it serves no connections any more; this connection is closed`,
        { lifecycle: state },
      );
    }
    await this.chargeSender(record, api);
  }

  /**
   * What a frame or control message does on a topic, decided as a handshake to that topic would be:
   * the channel's direction (pub to publish, sub to subscribe); on a secured API's channel that is
   * not open, a token (401 without one: a connection opened on an open channel without a token may
   * not reach a secured one); the token live, of the API's tenant, holding the channel's publish or
   * subscribe scopes (403), of a key type the API serves (403); and for a topic instance other than
   * the connection's own, the channel's veto (a handler channel's onConnect, asked the same
   * question). The plan was charged by `admitFrame`.
   */
  async authorize(record: ConnectionRecord, target: Target, operation: Operation): Promise<void> {
    const { api, channel, topic } = target;
    if (operation === 'subscribe' && !channel.sub) {
      throw forbidden(`topic ${topic} cannot be subscribed to (it is publish only)`, { topic });
    }
    if (operation === 'publish' && !channel.pub) {
      throw forbidden(`topic ${topic} does not take messages from clients (it is subscribe only)`, { topic });
    }
    const { principal } = record;
    if (api.secured && !channel.open && !principal) {
      throw unauthorized(
        `an access token is required to ${operation} ${operation === 'subscribe' ? 'to ' : ''}${topic}: connect with a token that holds its scopes`,
        { topic },
      );
    }
    if (principal) {
      this.requireLiveToken(record);
      requireTenant(principal, api);
      if (!channel.open) {
        requireScopes(
          principal,
          operation === 'subscribe' ? channel.subScopes : channel.pubScopes,
          `${operation} to ${channel.name}`,
        );
      }
      requireKeyTypeServed(principal.keyType, api);
    }
    if (target.topicKey !== record.topicKey) await this.veto?.authorizeTopic(record, target);
  }

  /** A frame is one event of the sender's plan; a blocked or exhausted subscription may not send. */
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
