import { describe, expect, it } from 'vitest';
import { ackFrame, parseControlMessage } from '../../lambdas/core/control.ts';
import { badRequest, GatewayError } from '../../lambdas/core/errors.ts';
import { toErrorFrame as errorFrame } from '../../lambdas/shared/refusals.ts';

describe('control messages', () => {
  it('parse subscribe, unsubscribe and publish', () => {
    expect(parseControlMessage('{"action":"subscribe","topic":"/rooms/room2","id":"7"}')).toEqual({
      action: 'subscribe',
      topic: '/rooms/room2',
      id: '7',
    });
    expect(parseControlMessage('{"action":"unsubscribe","topic":"/rooms/room2"}')).toEqual({
      action: 'unsubscribe',
      topic: '/rooms/room2',
    });
    expect(parseControlMessage('{"action":"publish","topic":"/rooms/room2","data":"hi"}')).toEqual({
      action: 'publish',
      topic: '/rooms/room2',
      data: 'hi',
    });
  });

  it('serialize non-string data as JSON', () => {
    const message = parseControlMessage('{"action":"publish","topic":"/a","data":{"x":[1,2]}}');
    expect(message).toMatchObject({ data: '{"x":[1,2]}' });
  });

  it.each([
    ['not json', /JSON object/],
    ['[1,2]', /JSON object/],
    ['{"action":"dance","topic":"/a"}', /unknown action "dance"/],
    ['{"action":"subscribe"}', /needs "topic"/],
    ['{"action":"subscribe","topic":42}', /needs "topic"/],
    ['{"action":"subscribe","topic":"rooms"}', /starting with \//],
    ['{"action":"publish","topic":"/a"}', /publish needs "data"/],
    ['{"action":"subscribe","topic":"/a","id":7}', /"id" must be a string/],
  ])('refuse %s with 400', (body, message) => {
    let caught: unknown;
    try {
      parseControlMessage(body);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(GatewayError);
    expect((caught as GatewayError).status).toBe(400);
    expect((caught as GatewayError).message).toMatch(message);
  });

  it('frame errors and acknowledgements as one JSON object', () => {
    expect(JSON.parse(errorFrame(badRequest('nope', { topic: '/a' }), { action: 'subscribe' }))).toEqual({
      type: 'error',
      status: 400,
      error: 'bad_request',
      message: 'nope',
      action: 'subscribe',
      topic: '/a',
    });
    expect(JSON.parse(ackFrame('subscribed', '/a', '1'))).toEqual({
      type: 'subscribed',
      topic: '/a',
      id: '1',
    });
  });
});
