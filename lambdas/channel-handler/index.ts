/**
 * The runtime around a user's channel handler (backend type `handler`): it builds the context,
 * runs the handler's hook, and carries out what the hook asked for — replies to the connection and
 * publications to topics, charged to business plans like every other frame.
 *   connect    (synchronous, from $connect)     run onConnect; return rejection or actions
 *   opened     (asynchronous, after $connect)   carry out onConnect's actions once the socket is open
 *   message    (synchronous, from $default)     run onMessage and carry out its actions
 *   disconnect (asynchronous, from $disconnect) run onDisconnect and carry out its publications
 *   subscribe  (synchronous, from a control message to another topic instance) run onSubscribe,
 *              else onConnect, for that instance; only a rejection counts, nothing is carried out
 */
import { handler as userHandler } from 'streamgate-user-handler';
import { type ApiDef, findApiById } from '../core/catalog.ts';
import type {
  ChannelContext,
  HandlerAction,
  HandlerInvocation,
  HandlerResult,
} from '../core/channel-handler-api.ts';
import { sleep } from '../core/concurrency.ts';
import { createTargetResolver } from '../core/target.ts';
import { catalog } from '../shared/catalog.ts';
import { observed } from '../shared/middleware.ts';
import { logger, MetricUnit, metrics } from '../shared/observability.ts';
import {
  accessDirectory,
  connectionStore,
  connectionsApi,
  deliverer,
  throttleStore,
} from '../shared/services.ts';

const store = connectionStore();
const connections = connectionsApi();
const delivery = deliverer(store, connections, throttleStore(), accessDirectory());
const resolver = createTargetResolver(catalog);

/** After $connect, the socket opens within moments: replies are retried that long. */
const OPEN_WAIT_MS = 5_000;

const text = (data: string | object) => (typeof data === 'string' ? data : JSON.stringify(data));

function contextOf(event: HandlerInvocation, api: ApiDef, result: HandlerResult): ChannelContext {
  return {
    api: { name: api.name, version: api.version, tenant: api.tenant },
    topic: event.topic,
    params: event.params,
    connectionId: event.connectionId,
    ...(event.app ? { application: event.app.appName } : {}),
    ...(event.principal ? { clientId: event.principal.clientId, keyType: event.principal.keyType } : {}),
    reply: (data) => result.actions.push({ type: 'reply', data: text(data) }),
    publish: (topic, data) =>
      result.actions.push({ type: 'publish', topic, data: text(data), exceptSender: false }),
    broadcast: (data) =>
      result.actions.push({ type: 'publish', topic: event.topic, data: text(data), exceptSender: true }),
    reject: (status, message) => {
      result.rejected = { status, message };
    },
  };
}

export const handler = observed(
  async (event: HandlerInvocation): Promise<HandlerResult> => {
    const api = findApiById(catalog, event.apiId);
    if (!api) throw new Error(`API ${event.apiId} is not in this deployment`);
    const result: HandlerResult = { actions: [] };
    const ctx = contextOf(event, api, result);
    switch (event.phase) {
      case 'connect':
        await userHandler.onConnect?.(ctx);
        return result;
      case 'subscribe':
        // An authorization question only: what the hook would reply or publish is dropped.
        if (userHandler.onSubscribe) await userHandler.onSubscribe(ctx);
        else await userHandler.onConnect?.(ctx);
        return { ...(result.rejected ? { rejected: result.rejected } : {}), actions: [] };
      case 'opened':
        await carryOut(event, api, event.actions ?? [], true);
        return { actions: [] };
      case 'message':
        await userHandler.onMessage?.(ctx, event.message ?? '');
        if (!result.rejected) await carryOut(event, api, result.actions, false);
        return { ...(result.rejected ? { rejected: result.rejected } : {}), actions: [] };
      case 'disconnect':
        await userHandler.onDisconnect?.(ctx);
        await carryOut(
          event,
          api,
          result.actions.filter((a) => a.type === 'publish'),
          false,
        );
        return { actions: [] };
    }
  },
  { logKeys: (event) => ({ connectionId: event.connectionId, phase: event.phase }) },
);

async function carryOut(
  event: HandlerInvocation,
  api: ApiDef,
  actions: HandlerAction[],
  waitForOpen: boolean,
) {
  const deadline = Date.now() + 20_000;
  for (const action of actions) {
    if (action.type === 'reply') {
      await reply(event, api, action.data, waitForOpen, deadline);
      continue;
    }
    const target = resolver.resolveTopic(api, action.topic);
    const report = await delivery.toSubscribers(
      api,
      target.topicKey,
      action.data,
      deadline,
      action.exceptSender ? event.connectionId : undefined,
    );
    metrics.addMetric('handlerPublished', MetricUnit.Count, report.sent);
  }
}

/** A reply is a frame to the connection like any other (counted against its plan). */
async function reply(
  event: HandlerInvocation,
  api: ApiDef,
  data: string,
  waitForOpen: boolean,
  deadline: number,
) {
  if (waitForOpen && !(await opened(event.connectionId))) {
    logger.warn('reply not delivered: the connection did not open');
    return;
  }
  await delivery.deliver(
    [
      {
        connectionId: event.connectionId,
        api,
        ...(event.app ? { app: event.app } : {}),
        frames: [{ data, events: 1 }],
      },
    ],
    deadline,
  );
}

/** Right after $connect the socket is still opening (and answers as gone): wait for it a little. */
async function opened(connectionId: string): Promise<boolean> {
  const until = Date.now() + OPEN_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    if (await connections.isOpen(connectionId)) return true;
    if (Date.now() >= until) return false;
    await sleep(Math.min(250, 10 * 2 ** attempt));
  }
}
