/**
 * The MSK-triggered fan-out handler: runs each batch through a {@link FanoutBatch} built from the
 * dependencies given, then emits its report as EMF metrics and one log line. `index.ts` gives it
 * the real dependencies; tests give it fakes.
 */
import type { Context } from 'aws-lambda';
import type { MskEvent } from '../core/kafka-records.ts';
import { logger, MetricUnit, metrics } from '../shared/observability.ts';
import { FanoutBatch, type FanoutBatchDependencies, type FanoutReport } from '../usecases/fanout-batch.ts';

/** Time kept back from the function's timeout to checkpoint and report after posting, ms. */
const RESERVE_MS = 2_000;

/** The Lambda handler of the fan-out function, over `deps`. */
export function createHandler(
  deps: FanoutBatchDependencies,
): (event: MskEvent, context: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<void> {
  const batch = new FanoutBatch(deps);
  return async (event, context) => {
    const deadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - RESERVE_MS);
    const report = await batch.run(event, deadline);
    emit(report);
    const { oversized: _, recordAgeMs: __, ...logged } = report;
    logger.info('batch delivered', logged);
  };
}

function emit(report: FanoutReport): void {
  metrics.addMetric('kafkaRecords', MetricUnit.Count, report.records);
  metrics.addMetric('kafkaDeliveries', MetricUnit.Count, report.sent);
  const counts: [string, number][] = [
    ['poisonRecords', report.poison],
    ['tombstonesSkipped', report.tombstones],
    ['redeliveredRecordsSkipped', report.skipped],
    ['staleConnectionsRemoved', report.gone],
    ['connectionsStillOpening', report.opening],
    ['deliveriesFailed', report.failed],
    ['eventsThrottled', report.throttled],
    ['lifecycleDroppedEvents', report.lifecycleDropped],
  ];
  for (const [name, value] of counts) if (value) metrics.addMetric(name, MetricUnit.Count, value);
  if (report.recordAgeMs !== undefined)
    metrics.addMetric('recordAgeMs', MetricUnit.Milliseconds, report.recordAgeMs);
}
