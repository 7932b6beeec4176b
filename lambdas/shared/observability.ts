import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * One structured JSON logger and one EMF metrics emitter per function. Service name and namespace
 * come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, set by the house construct.
 */
export const logger = new Logger();
export const metrics = new Metrics();
export { MetricUnit };

/** DynamoDB capacity the calls of this invocation consumed, as DynamoDB reported it. */
const consumed = { read: 0, write: 0 };

export function recordConsumedCapacity(kind: 'read' | 'write', units: number): void {
  consumed[kind] += units;
}

/** Emit the metrics recorded during an invocation (nothing when there are none). */
export function flushMetrics(): void {
  if (consumed.read) metrics.addMetric('dynamoReadUnits', MetricUnit.Count, consumed.read);
  if (consumed.write) metrics.addMetric('dynamoWriteUnits', MetricUnit.Count, consumed.write);
  consumed.read = 0;
  consumed.write = 0;
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
