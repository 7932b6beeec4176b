/**
 * The channel handlers' follow-up (invoked asynchronously by `$connect` and `$disconnect`): sends
 * what a handler's onConnect asked for once the socket is open, and runs onDisconnect and sends its
 * publications. It is gateway code with the gateway's rights, so the handlers' own functions (user
 * code) need none: they only answer what they want done.
 */
import type { Context } from 'aws-lambda';
import { findApiById } from '../core/catalog.ts';
import type { HandlerFollowUp } from '../core/channel-handler-api.ts';
import { createTargetResolver } from '../core/target.ts';
import { catalog } from '../shared/catalog.ts';
import { observed } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import * as services from '../shared/services.ts';
import { HandlerActions, runFollowUp } from '../usecases/backends.ts';

const store = services.connectionStore();
const connections = services.connectionsApi();
const delivery = services.deliverer(store, connections, services.throttleStore(), services.accessDirectory());
const handlers = services.channelHandlers();
const actions = new HandlerActions(delivery, createTargetResolver(catalog), (id) => connections.isOpen(id));

export const handler = observed(
  async (event: HandlerFollowUp, context: Context): Promise<void> => {
    const api = findApiById(catalog, event.subject.apiId);
    if (!api) {
      logger.warn('follow-up for an API this deployment does not have', { apiId: event.subject.apiId });
      return;
    }
    const deadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - 1_000);
    await runFollowUp(event, api, handlers, actions, deadline);
  },
  { logKeys: (event: HandlerFollowUp) => ({ connectionId: event.subject.connectionId, kind: event.kind }) },
);
