import { describe, expect, it } from 'vitest';
import { checkHandlerResult, MAX_HANDLER_ACTIONS } from '../../lambdas/core/channel-handler-api.ts';
import { refusal } from '../helpers/refusal.ts';

const failsWith502 = async (answer: unknown) => {
  const error = await refusal(Promise.resolve().then(() => checkHandlerResult(answer)));
  expect([error.status, error.message]).toEqual([502, 'the channel handler failed']);
  return error;
};

describe("a channel handler's answer (untrusted: the function runs user code)", () => {
  it('passes replies, publications and a rejection through', () => {
    const answer = {
      actions: [
        { type: 'reply', data: 'hi' },
        { type: 'publish', topic: '/notifications', data: 'x', exceptSender: false },
      ],
    };
    expect(checkHandlerResult(answer)).toEqual(answer);
    expect(checkHandlerResult({ rejected: { status: 404, message: 'no room' }, actions: [] })).toEqual({
      rejected: { status: 404, message: 'no room' },
      actions: [],
    });
  });

  it('refuses anything else as a 502 that says only that the handler failed', async () => {
    await failsWith502(undefined);
    await failsWith502({ actions: [{ type: 'write', table: 'connections', item: {} }] });
    await failsWith502({
      actions: [{ type: 'publish', topic: 'carbon.super/other/1.0.0/t', data: 'x', exceptSender: false }],
    });
    await failsWith502({ actions: [{ type: 'reply', data: 'x'.repeat(128 * 1024 + 1) }] });
    await failsWith502({
      actions: Array.from({ length: MAX_HANDLER_ACTIONS + 1 }, () => ({ type: 'reply', data: 'x' })),
    });
    const error = await failsWith502({ rejected: { status: 200, message: 'fine' }, actions: [] });
    expect(String((error.cause as Error).message)).toMatch(/not a handler result/);
  });

  it('drops fields it does not know (a reply cannot be aimed at another connection)', () => {
    expect(
      checkHandlerResult({ actions: [{ type: 'reply', data: 'x', connectionId: 'other' }], extra: 1 }),
    ).toEqual({ actions: [{ type: 'reply', data: 'x' }] });
  });
});
