import { badRequest } from './errors.ts';

/**
 * Control messages a connection sends as JSON text frames. API Gateway routes them by
 * `$request.body.action`; every other frame goes to `$default` and is published to the
 * connection's own topic as it is.
 *
 *   {"action":"subscribe",   "topic":"/rooms/room2", "id":"1"}
 *   {"action":"unsubscribe", "topic":"/rooms/room2"}
 *   {"action":"publish",     "topic":"/rooms/room2", "data":"hello"}
 */
export const CONTROL_ACTIONS = ['subscribe', 'unsubscribe', 'publish'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

export type ControlMessage =
  | { action: 'subscribe' | 'unsubscribe'; topic: string; id?: string }
  | { action: 'publish'; topic: string; data: string; id?: string };

const MAX_ID_LENGTH = 128;
const MAX_TOPIC_LENGTH = 1024;

export function isControlAction(value: string): value is ControlAction {
  return (CONTROL_ACTIONS as readonly string[]).includes(value);
}

export function parseControlMessage(body: string): ControlMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw badRequest('a control message must be a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badRequest('a control message must be a JSON object');
  }
  const message = parsed as Record<string, unknown>;
  const { action, topic, id } = message;
  if (typeof action !== 'string' || !isControlAction(action)) {
    throw badRequest(
      `unknown action ${JSON.stringify(action)}; expected one of ${CONTROL_ACTIONS.join(', ')}`,
    );
  }
  if (id !== undefined && (typeof id !== 'string' || id.length > MAX_ID_LENGTH)) {
    throw badRequest(`"id" must be a string of at most ${MAX_ID_LENGTH} characters`, { action });
  }
  const idField = id === undefined ? {} : { id };
  if (typeof topic !== 'string' || topic.length === 0) {
    throw badRequest(`${action} needs "topic": a topic path of this API such as /rooms/room2`, {
      action,
      ...idField,
    });
  }
  if (topic.length > MAX_TOPIC_LENGTH || !topic.startsWith('/')) {
    throw badRequest(`"topic" must be a path starting with / (at most ${MAX_TOPIC_LENGTH} characters)`, {
      action,
      ...idField,
    });
  }
  if (action === 'publish') {
    if (!('data' in message))
      throw badRequest('publish needs "data": what to send', { action, topic, ...idField });
    const { data } = message;
    return { action, topic, data: typeof data === 'string' ? data : JSON.stringify(data), ...idField };
  }
  return { action, topic, ...idField };
}

/** A control message's acknowledgement: subscribe and unsubscribe always, publish when it carried an `id`. */
export function ackFrame(
  type: 'subscribed' | 'unsubscribed' | 'published',
  topic: string,
  id?: string,
): string {
  return JSON.stringify({ type, topic, ...(id === undefined ? {} : { id }) });
}
