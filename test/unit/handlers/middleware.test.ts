import { afterEach, describe, expect, it, vi } from 'vitest';
import { badRequest, GatewayError } from '../../../lambdas/core/errors.ts';
import { observed } from '../../../lambdas/shared/middleware.ts';
import {
  logger,
  MetricUnit,
  metrics,
  recordConsumedCapacity,
} from '../../../lambdas/shared/observability.ts';
import { refusalOf, toHandshakeResponse, toHttpJson } from '../../../lambdas/shared/refusals.ts';
import { lambdaContext } from '../../fixtures/events/lambda-context.ts';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

describe('the shared middleware', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('adds per-event log keys for one invocation, and flushes metrics with the consumed capacity', async () => {
    const append = vi.spyOn(logger, 'appendKeys');
    const reset = vi.spyOn(logger, 'resetKeys');
    const publish = vi.spyOn(metrics, 'publishStoredMetrics');
    const added = vi.spyOn(metrics, 'addMetric');
    const handler = observed(
      async (event: { id: string }) => {
        expect(reset).not.toHaveBeenCalled();
        recordConsumedCapacity('write', 3);
        metrics.addMetric('things', MetricUnit.Count, 1);
        return event.id;
      },
      { logKeys: (event) => ({ connectionId: event.id }) },
    );
    expect(await handler({ id: 'c1' }, lambdaContext())).toBe('c1');
    expect(append).toHaveBeenCalledWith({ connectionId: 'c1' });
    // The keys of one invocation do not leak into the next.
    expect(reset).toHaveBeenCalledTimes(1);
    expect(added).toHaveBeenCalledWith('dynamoWriteUnits', MetricUnit.Count, 3);
    expect(publish).toHaveBeenCalledTimes(1);
  });

  it('flushes metrics when the handler throws, and rethrows', async () => {
    const publish = vi.spyOn(metrics, 'publishStoredMetrics');
    const handler = observed(async () => {
      metrics.addMetric('beforeTheFailure', MetricUnit.Count, 1);
      throw new Error('boom');
    });
    await expect(handler({}, lambdaContext())).rejects.toThrow('boom');
    expect(publish).toHaveBeenCalledTimes(1);
  });
});

describe('refusals per transport', () => {
  const refusal = badRequest('nope', { topic: '/a' });

  it('handshake and HTTP JSON: the status and {error, message}', () => {
    const expected = {
      statusCode: 400,
      headers: { 'content-type': 'application/json' },
      body: '{"error":"bad_request","message":"nope"}',
    };
    expect(toHandshakeResponse(refusal)).toEqual(expected);
    expect(toHttpJson(refusal, { 'www-authenticate': 'Basic' })).toEqual({
      ...expected,
      headers: { ...expected.headers, 'www-authenticate': 'Basic' },
    });
  });

  it('an unexpected error becomes a 500 that keeps it as its cause', () => {
    const cause = new Error('socket hang up');
    const wrapped = refusalOf(cause, 'the gateway failed');
    expect(wrapped).toBeInstanceOf(GatewayError);
    expect([wrapped.status, wrapped.message, wrapped.cause]).toEqual([500, 'the gateway failed', cause]);
    expect(refusalOf(refusal)).toBe(refusal);
  });
});
