import { describe, expect, it } from 'vitest';
import { TransformStateStore } from '../../lambdas/adapters/transform-state-store.ts';
import { parseSiddhi } from '../../lambdas/core/transform/siddhi.ts';
import type { TransformItem } from '../../lambdas/core/transform/state.ts';
import { documentClient, stack, unique } from './helpers.ts';

const totals = parseSiddhi(
  `define stream Orders (shop string, amount double);
   from Orders select shop, count() as orders, sum(amount) as revenue group by shop insert into Totals;`,
  'json',
);

/** One fan-out's batch: `count` records of one partition, each one order of 1.5. */
const batch = (partition: number, firstOffset: number, count: number): TransformItem[] =>
  Array.from({ length: count }, (_, i) => ({
    partitionKey: `orders-${partition}`,
    offset: firstOffset + i,
    timestamp: Date.now(),
    events: [{ shop: 'main', amount: 1.5 }],
    order: i,
  }));

describe('transform state on DynamoDB Local', () => {
  it('is exact when several fan-outs update one group at once, and when a batch comes again', async () => {
    const store = new TransformStateStore(documentClient(), stack.tables.StreamStateTable as string);
    const scope = unique('race');
    // 8 "functions", one per partition, 5 batches of 10 records each, all at once.
    const runs = Array.from({ length: 8 }, async (_, partition) => {
      let writes = 0;
      for (let b = 0; b < 5; b++) {
        const result = await store.apply(
          scope,
          totals,
          new Map([['main|all', batch(partition, b * 10, 10)]]),
        );
        writes += result.writes;
      }
      return writes;
    });
    const writes = (await Promise.all(runs)).reduce((a, b) => a + b, 0);
    expect(writes).toBe(40); // one write per batch, races retried rather than lost

    // A retried batch (partition 3's last) is recognised: same outputs, nothing counted again.
    const again = await store.apply(scope, totals, new Map([['main|all', batch(3, 40, 10)]]));
    expect(again.writes).toBe(0);
    expect(again.outputs.map((o) => o.event.orders)).toHaveLength(10);
    const next = await store.apply(scope, totals, new Map([['main|all', batch(0, 50, 1)]]));
    expect(next.outputs).toEqual([{ order: 0, event: { shop: 'main', orders: 401, revenue: 601.5 } }]);
  });
});
