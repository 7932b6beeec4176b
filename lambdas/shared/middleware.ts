/**
 * What every function does around its own work, written once (middy + Powertools):
 *   - the Lambda context (request id, function name, cold start) on every log line, and per-event
 *     log keys (e.g. the connection id) removed again when the invocation ends;
 *   - a `ColdStart` EMF metric on the first invocation of an execution environment;
 *   - DynamoDB consumed capacity added as metrics, and the stored metrics flushed (on success and on
 *     error; nothing is written when an invocation recorded none).
 * Usage: `export const handler = observed(myHandler, { logKeys: (event) => ({ … }) })`.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { flushMetrics, logger, metrics } from './observability.ts';

export interface ObservedOptions<E> {
  /** Keys added to every log line of one invocation (removed when it ends). */
  logKeys?: (event: E) => Record<string, unknown>;
}

/** Cold-start metric before the handler; consumed capacity and stored metrics flushed after it. */
function metricsFlush<E, R>(): MiddlewareObj<E, R> {
  return {
    name: 'streamgate-metrics',
    before: ({ context }) => metrics.captureColdStartMetric(context.functionName),
    after: () => flushMetrics(),
    onError: () => flushMetrics(),
  };
}

function logKeys<E, R>(keys: (event: E) => Record<string, unknown>): MiddlewareObj<E, R> {
  return { name: 'streamgate-log-keys', before: ({ event }) => logger.appendKeys(keys(event)) };
}

/**
 * Wrap a handler in the shared middleware. Middy's early-timeout abort is off: a handler keeps its
 * own deadline from `context.getRemainingTimeInMillis()`, as it did before the middleware.
 */
export function observed<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
  options: ObservedOptions<E> = {},
) {
  const wrapped = middy<E, R, Error, Context>(handler, { timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    // Registered last so its `after` runs first: metrics leave before the log keys are reset.
    .use(metricsFlush<E, R>());
  return options.logKeys ? wrapped.use(logKeys<E, R>(options.logKeys)) : wrapped;
}
