/**
 * What a channel handler (backend type `handler`) is written against. A handler module exports
 * `handler: ChannelHandler`; streamgate deploys it as a Lambda function of its own and calls it on
 * connect, on each message and on disconnect of its channel's connections.
 */
export interface ChannelContext {
  /** The API and the connection's topic instance, e.g. `/rooms/room1` with `{ roomID: 'room1' }`. */
  api: { name: string; version: string; tenant: string };
  topic: string;
  params: Record<string, string>;
  connectionId: string;
  /** Who connected (absent on channels open without a token). */
  application?: string;
  clientId?: string;
  keyType?: 'PRODUCTION' | 'SANDBOX';
  /** Send a frame to this connection. */
  reply(data: string | object): void;
  /** Send a frame to every subscriber of a topic of this API (e.g. `/notifications`). */
  publish(topic: string, data: string | object): void;
  /** Send a frame to the other subscribers of this connection's own topic. */
  broadcast(data: string | object): void;
  /** In onConnect: refuse the connection with this status. In onMessage: refuse the message (an error frame). */
  reject(status: number, message: string): void;
}

export interface ChannelHandler {
  onConnect?(ctx: ChannelContext): void | Promise<void>;
  /**
   * A connection of this API asks, by control message, to subscribe or publish to a topic instance
   * of this channel other than its own (`ctx.topic`, `ctx.params`): `ctx.reject` refuses. Optional:
   * without it, onConnect is asked the same question (what it replies or publishes is dropped).
   */
  onSubscribe?(ctx: ChannelContext): void | Promise<void>;
  onMessage?(ctx: ChannelContext, message: string): void | Promise<void>;
  onDisconnect?(ctx: ChannelContext): void | Promise<void>;
}

/** What a handler asked for, carried out by streamgate after the handler returns. */
export type HandlerAction =
  | { type: 'reply'; data: string }
  | { type: 'publish'; topic: string; data: string; exceptSender: boolean };

export interface HandlerInvocation {
  /** `subscribe`: may the connection reach `topic` by control message (see ChannelHandler.onSubscribe)? */
  phase: 'connect' | 'opened' | 'message' | 'disconnect' | 'subscribe';
  connectionId: string;
  apiId: string;
  topic: string;
  params: Record<string, string>;
  principal?: { clientId: string; keyType: 'PRODUCTION' | 'SANDBOX'; appName?: string };
  app?: { appId: string; appName: string };
  message?: string;
  /** `opened`: the actions onConnect asked for, carried out once the connection is open. */
  actions?: HandlerAction[];
}

export interface HandlerResult {
  rejected?: { status: number; message: string };
  actions: HandlerAction[];
}

/** The connection a handler invocation is about: its binding as `$connect` resolved it. */
export interface InvocationSubject {
  connectionId: string;
  apiId: string;
  /** The topic instance the invocation concerns, e.g. `/rooms/room1`, and its parameters. */
  topic: string;
  params: Record<string, string>;
  principal?: { clientId: string; keyType: 'PRODUCTION' | 'SANDBOX' } | undefined;
  app?: { appId: string; appName: string } | undefined;
}

/**
 * The one place a `HandlerInvocation` is built (connect, message, disconnect): only the principal's
 * client id and key type travel to the handler, never the token's other claims.
 */
export function handlerInvocation(
  phase: HandlerInvocation['phase'],
  subject: InvocationSubject,
  extra: Pick<HandlerInvocation, 'message' | 'actions'> = {},
): HandlerInvocation {
  const { principal, app } = subject;
  return {
    phase,
    connectionId: subject.connectionId,
    apiId: subject.apiId,
    topic: subject.topic,
    params: subject.params,
    ...(principal ? { principal: { clientId: principal.clientId, keyType: principal.keyType } } : {}),
    ...(app ? { app } : {}),
    ...extra,
  };
}
