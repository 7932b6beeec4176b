import { type Delivery, type TransformJob, transformedDeliveries } from '../core/fanout-plan.ts';
import { itemsByState, statelessOutputs, type TransformOutput } from '../core/transform/state.ts';
import type { TransformStateStore } from './transform-state-store.ts';

/**
 * Runs each transformed channel's records through its transform: filter, then project (stateless)
 * or aggregate with state kept in `store` (stateful), then the output mapping. Returns the
 * deliveries, in record order, and the state writes it made.
 */
export async function runTransforms(
  jobs: Iterable<TransformJob>,
  store: TransformStateStore,
): Promise<{ deliveries: Delivery[]; stateWrites: number }> {
  const deliveries: Delivery[] = [];
  let stateWrites = 0;
  for (const job of jobs) {
    const { binding, items } = job;
    const transform = binding.backend.transform;
    if (!transform) continue;
    let outputs: TransformOutput[];
    if (!transform.stateful) outputs = statelessOutputs(transform, items);
    else {
      // Each record's events go to the state document of their group and window.
      const result = await store.apply(
        `${binding.api.id}|${binding.channel.name}`,
        transform,
        itemsByState(transform, items),
      );
      outputs = result.outputs;
      stateWrites += result.writes;
    }
    deliveries.push(...transformedDeliveries(job, outputs));
  }
  return { deliveries, stateWrites };
}
