import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * One structured JSON logger and one EMF metrics emitter per function. Service name and namespace
 * come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, set by the house construct.
 */
export const logger = new Logger();
export const metrics = new Metrics();
export { MetricUnit };

/** Emit the metrics recorded during an invocation (nothing when there are none). */
export function flushMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
