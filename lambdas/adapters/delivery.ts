import type { ApiDef } from '../core/catalog.ts';
import { mapWithConcurrency } from '../core/concurrency.ts';
import { type ConnectionRecord, goneVerdict } from '../core/connection.ts';
import { type Recipient, receivesDeliveries } from '../core/fanout-plan.ts';
import { subscriptionKey } from '../core/plans.ts';
import type { AccessDirectory } from './access.ts';
import type { ConnectionStore } from './connection-store.ts';
import type { ConnectionsApi } from './connections-api.ts';
import type { ThrottleStore } from './throttle-store.ts';

export type { Recipient };

export interface DeliveryOutcome {
  sent: number;
  /** Connections that answered 410 and were removed (`goneVerdict`: past their handshake window). */
  gone: string[];
  /**
   * Connections that answered 410 within their handshake window (`goneVerdict`: `$connect` may
   * still be running): kept registered; their frames of this delivery are dropped.
   */
  opening: string[];
  failed: string[];
  /** Events dropped because the recipient's plan was exhausted or its subscription blocked. */
  throttledEvents: number;
  /** Counter writes made (one per subscription, whatever the number of deliveries). */
  counterWrites: number;
  /** Events dropped because their API is BLOCKED or RETIRED (not charged, not posted). */
  lifecycleDroppedEvents: number;
}

/**
 * Delivery with business plans: recipients of APIs that take no traffic (BLOCKED, RETIRED: see
 * `receivesDeliveries`, lifecycle read through the access directory's cache) are dropped and
 * counted; the others are grouped by subscription, each group's events are reserved with one
 * conditional write, frames beyond what the plan grants are dropped (and counted as throttled),
 * the rest are posted in order, and connections that answer 410 are removed unless they are still
 * in their handshake window (`goneVerdict`).
 */
export class Deliverer {
  constructor(
    private readonly store: ConnectionStore,
    private readonly connections: ConnectionsApi,
    private readonly throttle: ThrottleStore,
    private readonly access: AccessDirectory,
  ) {}

  async deliver(candidates: Recipient[], deadline: number): Promise<DeliveryOutcome> {
    const { recipients, droppedEvents: lifecycleDroppedEvents } = await this.withLiveApis(candidates);
    const groups = new Map<string, Recipient[]>();
    const free: Recipient[] = [];
    for (const recipient of recipients) {
      if (!recipient.app) {
        free.push(recipient);
        continue;
      }
      const key = subscriptionKey(recipient.app.appId, recipient.api.id);
      const group = groups.get(key);
      if (group) group.push(recipient);
      else groups.set(key, [recipient]);
    }
    let throttledEvents = 0;
    const allowed: (readonly [string, readonly string[]])[] = free.map((r) => [
      r.connectionId,
      r.frames.map((f) => f.data),
    ]);
    await mapWithConcurrency([...groups.values()], 16, async (group) => {
      const first = group[0] as Recipient;
      const entitlement = await this.access.entitlement(
        first.app as { appId: string; appName: string },
        first.api,
      );
      const wanted = group.reduce((n, r) => n + r.frames.reduce((m, f) => m + f.events, 0), 0);
      let budget = 0;
      if (entitlement && entitlement.status === 'ACTIVE') {
        budget = (await this.throttle.reserve(entitlement.key, entitlement.plan, wanted)).granted;
      }
      throttledEvents += wanted - budget;
      for (const recipient of group) {
        const frames: string[] = [];
        for (const frame of recipient.frames) {
          if (frame.events > budget) break;
          budget -= frame.events;
          frames.push(frame.data);
        }
        if (frames.length) allowed.push([recipient.connectionId, frames]);
      }
    });
    const report = await this.connections.postQueues(allowed, deadline);
    const { gone, opening } = await this.settleGone(report.gone);
    return { ...report, gone, opening, throttledEvents, counterWrites: groups.size, lifecycleDroppedEvents };
  }

  /**
   * Decide each connection that answered 410 by `goneVerdict` on its record: one still opening is
   * kept (a fresh subscriber on a busy topic must not end up connected but unregistered), the
   * others are removed with their plan's connection slot.
   */
  async settleGone(answered410: readonly string[]): Promise<{ gone: string[]; opening: string[] }> {
    const gone: string[] = [];
    const opening: string[] = [];
    await mapWithConcurrency(answered410, 16, async (connectionId) => {
      const record = await this.store.get(connectionId);
      if (goneVerdict(record?.connectedAt, Date.now()) === 'opening') {
        opening.push(connectionId);
        return;
      }
      gone.push(connectionId);
      if (record) await forgetConnection(this.store, this.throttle, connectionId, record);
    });
    return { gone, opening };
  }

  /** Recipients whose API takes traffic, and the events of those whose API does not. */
  private async withLiveApis(
    recipients: Recipient[],
  ): Promise<{ recipients: Recipient[]; droppedEvents: number }> {
    const apis = [...new Map(recipients.map((r) => [r.api.id, r.api])).values()];
    const states = await Promise.all(apis.map((api) => this.access.lifecycleOf(api)));
    const closed = new Set(
      apis.filter((api, i) => !receivesDeliveries(api, states[i] ?? api.lifecycle)).map((api) => api.id),
    );
    if (!closed.size) return { recipients, droppedEvents: 0 };
    let droppedEvents = 0;
    const live = recipients.filter((r) => {
      if (!closed.has(r.api.id)) return true;
      droppedEvents += r.frames.reduce((n, f) => n + f.events, 0);
      return false;
    });
    return { recipients: live, droppedEvents };
  }

  /**
   * One frame to every subscriber of a topic instance (but the sender, when given): what a client's
   * publication, a channel handler's and a backend's push all come down to.
   */
  async toSubscribers(
    api: ApiDef,
    topicKey: string,
    data: string,
    deadline: number,
    exceptConnectionId?: string,
  ): Promise<DeliveryOutcome & { recipients: number }> {
    const subscribers = (await this.store.subscribers(topicKey)).filter(
      (s) => s.connectionId !== exceptConnectionId,
    );
    const outcome = await this.deliver(
      subscribers.map((s) => ({
        connectionId: s.connectionId,
        api,
        ...(s.appId ? { app: { appId: s.appId, appName: s.appName ?? '' } } : {}),
        frames: [{ data, events: 1 }],
      })),
      deadline,
    );
    return { ...outcome, recipients: subscribers.length };
  }
}

/**
 * Remove a connection that is gone, and give back its plan's connection slot. `known`: its record,
 * when the caller has just read it (saves the store a read).
 */
export async function forgetConnection(
  store: ConnectionStore,
  throttle: ThrottleStore,
  connectionId: string,
  known?: ConnectionRecord,
): Promise<ConnectionRecord | undefined> {
  const record = await store.remove(connectionId, known);
  if (record?.holdsConnectionSlot && record.app) {
    await throttle.releaseConnection(subscriptionKey(record.app.appId, record.apiId), connectionId);
  }
  return record;
}
