import type { Delivery, TransformJob } from '../core/fanout-plan.ts';
import { integralAttributes, mapOutput, passes, project } from '../core/transform/engine.ts';
import { stateKeyOf, type TransformItem, type TransformOutput } from '../core/transform/state.ts';
import type { TransformStateStore } from './transform-state-store.ts';

/**
 * Runs each transformed channel's records through its transform: filter, then project (stateless)
 * or aggregate with state (stateful), then the output mapping. Returns the deliveries, in record
 * order, and the state writes it made.
 */
export async function runTransforms(
  jobs: Iterable<TransformJob>,
  store: TransformStateStore,
): Promise<{ deliveries: Delivery[]; stateWrites: number }> {
  const deliveries: Delivery[] = [];
  let stateWrites = 0;
  for (const { binding, items } of jobs) {
    const transform = binding.backend.transform;
    if (!transform) continue;
    const topicOf = new Map(items.map((item) => [item.order, item.topicKey]));
    let outputs: TransformOutput[];
    if (!transform.stateful) {
      outputs = items.flatMap((item) =>
        item.events
          .filter((event) => passes(transform, event))
          .map((event) => ({ order: item.order, event: project(transform, event) })),
      );
    } else {
      // Each record's events go to the state document of their group and window.
      const byState = new Map<string, TransformItem[]>();
      for (const item of items) {
        const perKey = new Map<string, TransformItem>();
        for (const event of item.events) {
          if (!passes(transform, event)) continue;
          const key = stateKeyOf(transform, event, item.timestamp);
          const part = perKey.get(key) ?? { ...item, events: [] };
          part.events.push(event);
          perKey.set(key, part);
        }
        for (const [key, part] of perKey) byState.set(key, [...(byState.get(key) ?? []), part]);
      }
      const result = await store.apply(`${binding.api.id}|${binding.channel.name}`, transform, byState);
      outputs = result.outputs;
      stateWrites += result.writes;
    }
    const integral = integralAttributes(transform);
    for (const output of outputs.sort((a, b) => a.order - b.order)) {
      deliveries.push({
        topicKey: topicOf.get(output.order) as string,
        api: binding.api,
        payload: mapOutput(binding.channel.format, [output.event], integral),
        format: binding.channel.format,
        coalesce: binding.backend.coalesce,
      });
    }
  }
  return { deliveries, stateWrites };
}
