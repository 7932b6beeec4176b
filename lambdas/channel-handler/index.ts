/**
 * The runtime around a user's channel handler (backend type `handler`): it builds the context, runs
 * the handler's hook, and answers what the hook asked for. It carries out nothing itself: this
 * function runs user code and holds no rights on the gateway's tables or `@connections`; the
 * gateway's functions check the answer and send the replies and publications (charged to business
 * plans like every other frame), scoped to this connection and this API.
 *   connect    (from $connect)             onConnect: a rejection, or actions sent once the socket opens
 *   message    (from the message function) onMessage: a rejection, or actions sent right away
 *   disconnect (from the follow-up function after $disconnect) onDisconnect: its publications
 */
import { handler as userHandler } from 'streamgate-user-handler';
import { type ApiDef, findApiById } from '../core/catalog.ts';
import type { ChannelContext, HandlerInvocation, HandlerResult } from '../core/channel-handler-api.ts';
import { catalog } from '../shared/catalog.ts';
import { observed } from '../shared/middleware.ts';

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
      case 'message':
        await userHandler.onMessage?.(ctx, event.message ?? '');
        return result.rejected ? { rejected: result.rejected, actions: [] } : result;
      case 'disconnect':
        // The connection is gone: only publications to others remain meaningful.
        await userHandler.onDisconnect?.(ctx);
        return { actions: result.actions.filter((a) => a.type === 'publish') };
    }
  },
  { logKeys: (event) => ({ connectionId: event.connectionId, phase: event.phase }) },
);
