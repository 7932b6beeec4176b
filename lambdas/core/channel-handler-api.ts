/**
 * What a channel handler (backend type `handler`) is written against. A handler module exports
 * `handler: ChannelHandler`; streamgate deploys it as a Lambda function of its own and calls it on
 * connect, on each message and on disconnect of its channel's connections. The handler's function
 * runs user code, so it holds no rights on the gateway's data or connections: it only answers what
 * it wants done (`HandlerResult`), and the gateway's own functions check that answer
 * (`checkHandlerResult`) and carry it out, scoped to the invocation's connection and API.
 */
import { z } from 'zod';
import { GatewayError } from './errors.ts';

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
  phase: 'connect' | 'message' | 'disconnect' | 'subscribe';
  connectionId: string;
  apiId: string;
  topic: string;
  params: Record<string, string>;
  principal?: { clientId: string; keyType: 'PRODUCTION' | 'SANDBOX'; appName?: string };
  app?: { appId: string; appName: string };
  message?: string;
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
  /**
   * Epoch ms API Gateway accepted the connection (the record's `connectedAt`): the gateway's
   * handshake window (`goneVerdict`); never passed to the handler.
   */
  connectedAt?: number | undefined;
}

/**
 * The one place a `HandlerInvocation` is built (connect, message, disconnect): only the principal's
 * client id and key type travel to the handler, never the token's other claims.
 */
export function handlerInvocation(
  phase: HandlerInvocation['phase'],
  subject: InvocationSubject,
  extra: Pick<HandlerInvocation, 'message'> = {},
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

/**
 * What a gateway function asks the handler follow-up function to do after it has answered API
 * Gateway: `opened` carries out onConnect's actions once the socket is open; `disconnect` runs
 * onDisconnect and carries out its publications.
 */
export type HandlerFollowUp =
  | { kind: 'opened'; handler: string; subject: InvocationSubject; actions: HandlerAction[] }
  | { kind: 'disconnect'; handler: string; subject: InvocationSubject };

/** At most this many actions per handler answer (a reply and a few publications is the norm). */
export const MAX_HANDLER_ACTIONS = 25;
/** A frame's data, as API Gateway takes it: 128 KB. */
const MAX_ACTION_BYTES = 128 * 1024;

const frameData = z.string().refine((data) => Buffer.byteLength(data) <= MAX_ACTION_BYTES, 'over 128 KB');
const handlerResultSchema = z.object({
  rejected: z
    .object({ status: z.number().int().min(400).max(599), message: z.string().max(1_000) })
    .optional(),
  actions: z
    .array(
      z.discriminatedUnion('type', [
        z.object({ type: z.literal('reply'), data: frameData }),
        z.object({
          type: z.literal('publish'),
          topic: z.string().startsWith('/').max(1_024),
          data: frameData,
          exceptSender: z.boolean(),
        }),
      ]),
    )
    .max(MAX_HANDLER_ACTIONS),
});

/**
 * A handler function's answer, checked before the gateway acts on it: the function runs user code,
 * so its answer is untrusted input. Only replies (to the invocation's own connection) and
 * publications (to a topic the gateway resolves in the invocation's API) exist; anything else, over
 * 25 actions, a frame over 128 KB or a rejection status outside 4xx/5xx is refused as a 502
 * ("the channel handler failed"), with the reason as the error's cause for the log.
 */
export function checkHandlerResult(answer: unknown): HandlerResult {
  const parsed = handlerResultSchema.safeParse(answer);
  if (!parsed.success)
    throw new GatewayError('bad_gateway', 'the channel handler failed', undefined, {
      cause: new Error(`not a handler result: ${z.prettifyError(parsed.error)}`),
    });
  const { rejected, actions } = parsed.data;
  return { ...(rejected ? { rejected } : {}), actions };
}
