/**
 * `$default` and the control routes (`subscribe`, `unsubscribe`, `publish`, selected by
 * `$request.body.action`), dispatched through the route table of `usecases/messaging.ts`. Anything
 * refused is answered with one JSON error frame to the sender; nothing here can throw the
 * connection away.
 */
import type { APIGatewayProxyStructuredResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { FrameCounter } from '../adapters/frame-counter.ts';
import { type Catalog, findApiByQualifiedContext } from '../core/catalog.ts';
import { type ControlMessage, isControlAction, parseControlMessage } from '../core/control.ts';
import { notFound } from '../core/errors.ts';
import { createTargetResolver } from '../core/target.ts';
import { catalog } from '../shared/catalog.ts';
import { ENV } from '../shared/env.ts';
import { observed } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import * as services from '../shared/services.ts';
import { AccessDecision } from '../usecases/access.ts';
import { createChannelBackends, HandlerActions } from '../usecases/backends.ts';
import { ConnectionRate } from '../usecases/connection-rate.ts';
import {
  ConnectionBindings,
  createMessageRoutes,
  RefusalAnswers,
  type Reply,
  type Route,
  type RouteKey,
  ThrottleNotices,
} from '../usecases/messaging.ts';

export interface MessageDependencies {
  catalog: Catalog;
  bindings: Pick<ConnectionBindings, 'get'>;
  /** What every frame passes before it is parsed: lifecycle and plan (`AccessDecision.admitFrame`). */
  access: Pick<AccessDecision, 'admitFrame'>;
  routes: Record<RouteKey, Route>;
  refusals: Pick<RefusalAnswers, 'answer'>;
}

export function createHandler({ catalog, bindings, access, routes, refusals }: MessageDependencies) {
  return async (
    event: APIGatewayProxyWebsocketEventV2,
    context: Context,
  ): Promise<APIGatewayProxyStructuredResultV2> => {
    const { connectionId, routeKey } = event.requestContext;
    const deadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - 1_000);
    let control: ControlMessage | undefined;
    try {
      const record = await bindings.get(connectionId);
      const api = findApiByQualifiedContext(catalog, record.qualifiedContext);
      if (!api) throw notFound(`API ${record.apiId} is no longer deployed`);
      // Every frame counts, whatever it is and whether it is refused later (README: plans).
      await access.admitFrame(record, api);
      const body = event.body ?? '';
      const frame = event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
      if (isControlAction(routeKey)) control = parseControlMessage(frame);
      // API Gateway chose the control route by the body's action, which the parser has checked.
      await routes[control?.action ?? '$default']({
        record,
        api,
        frame,
        deadline,
        receivedAt: event.requestContext.requestTimeEpoch,
        ...(control ? { control } : {}),
      });
      return { statusCode: 200 };
    } catch (error) {
      return { statusCode: await refusals.answer(connectionId, error, control, deadline) };
    }
  };
}

/** The adapters of this execution environment, from its configuration (fails the cold start when missing). */
export function defaultDependencies(): MessageDependencies {
  const store = services.connectionStore();
  const connections = services.connectionsApi();
  const throttle = services.throttleStore();
  const directory = services.accessDirectory();
  const delivery = services.deliverer(store, connections, throttle, directory);
  const reply: Reply = async (connectionId, frame, deadline) => {
    const outcome = await connections.post(connectionId, frame, deadline);
    if (outcome !== 'sent') logger.warn('could not answer the sender', { outcome });
  };
  const backends = createChannelBackends({
    delivery,
    http: services.httpBackend(catalog),
    handlers: services.channelHandlers(),
    handlerActions: new HandlerActions(delivery, createTargetResolver(catalog), (id) =>
      connections.isOpen(id),
    ),
    producer: services.kafkaProducer(catalog),
    removeConnection: (id) => store.remove(id),
  });
  const access = new AccessDecision(directory, throttle, undefined, backends);
  const rate = new ConnectionRate(
    ENV.connectionRate.read(),
    new FrameCounter(services.documentClient(), ENV.throttleTable.read()),
    {
      close: async (connectionId, lastFrame, deadline) => {
        await reply(connectionId, lastFrame, deadline);
        await connections.disconnect(connectionId);
      },
    },
  );
  return {
    catalog,
    bindings: new ConnectionBindings(store),
    access,
    routes: createMessageRoutes({
      access,
      backends,
      subscriptions: store,
      resolver: createTargetResolver(catalog),
      reply,
      rate,
    }),
    refusals: new RefusalAnswers(new ThrottleNotices(throttle), reply, (id) => connections.disconnect(id)),
  };
}

export const handler = observed(createHandler(defaultDependencies()), {
  logKeys: (event: APIGatewayProxyWebsocketEventV2) => ({
    connectionId: event.requestContext.connectionId,
    routeKey: event.requestContext.routeKey,
  }),
});
