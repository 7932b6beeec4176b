import {
  type Delivery,
  describeError,
  type PoisonRecord,
  type TransformJob,
  transformedDeliveries,
} from '../core/fanout-plan.ts';
import {
  itemsByState,
  statelessOutputs,
  type TransformFailure,
  type TransformOutput,
} from '../core/transform/state.ts';
import type { TransformStateStore } from './transform-state-store.ts';

/**
 * Runs each transformed channel's records through its transform: filter, then project (stateless)
 * or aggregate with state kept in `store` (stateful), then the output mapping. Returns the
 * deliveries, in record order, the state writes it made, and the records a transform threw on
 * (poison: left out, the rest of the batch goes on). Throws only when the state store fails.
 */
export async function runTransforms(
  jobs: Iterable<TransformJob>,
  store: TransformStateStore,
): Promise<{ deliveries: Delivery[]; stateWrites: number; poison: PoisonRecord[] }> {
  const deliveries: Delivery[] = [];
  const poison: PoisonRecord[] = [];
  let stateWrites = 0;
  for (const job of jobs) {
    const { binding, items } = job;
    const transform = binding.backend.transform;
    if (!transform) continue;
    const failures: TransformFailure[] = [];
    let outputs: TransformOutput[];
    if (!transform.stateful) outputs = statelessOutputs(transform, items, failures);
    else {
      // Each record's events go to the state document of their group and window.
      const result = await store.apply(
        `${binding.api.id}|${binding.channel.name}`,
        transform,
        itemsByState(transform, items, failures),
      );
      outputs = result.outputs;
      failures.push(...result.failures);
      stateWrites += result.writes;
    }
    const failed = new Set(failures.map((f) => f.order));
    // A record that failed in one state document gives no output from any other either.
    if (failed.size) outputs = outputs.filter((o) => !failed.has(o.order));
    try {
      deliveries.push(...transformedDeliveries(job, outputs));
    } catch (error) {
      // The output mapping threw: try record by record, so only the record it threw on is poison.
      for (const output of outputs) {
        try {
          deliveries.push(...transformedDeliveries(job, [output]));
        } catch (e) {
          failed.add(output.order);
          failures.push({
            order: output.order,
            reason: `the output mapping failed: ${describeError(e ?? error)}`,
          });
        }
      }
    }
    for (const item of items) {
      const reasons = failures.filter((f) => f.order === item.order).map((f) => f.reason);
      if (!reasons.length) continue;
      poison.push({
        record: item.record,
        reasons: [...new Set(reasons)].map((reason) => ({
          api: binding.api.id,
          channel: binding.channel.name,
          reason,
        })),
      });
    }
  }
  return { deliveries, stateWrites, poison };
}
