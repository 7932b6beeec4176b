import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** `npm run bench -- <name> [options]`: runs one benchmark (or `all`). */
const benchmarks: Record<
  string,
  () => Promise<{ run: (options?: Record<string, unknown>) => Promise<void> }>
> = {
  connect: () => import('./connect.ts'),
  'kafka-fanout': () => import('./kafka-fanout.ts'),
  token: () => import('./token.ts'),
  'throttle-writes': () => import('./throttle-writes.ts'),
  backends: () => import('./backends.ts'),
  fanout: () => import('./fanout.ts'),
  'connections-call': () => import('./connections-call.ts'),
  registry: () => import('./registry.ts'),
  churn: () => import('./churn.ts'),
  init: () => import('./init.ts'),
};

/** The benchmarks that draw charts, by the `benchmark` field of their JSON results. */
const chartRenderers: Record<
  string,
  () => Promise<{ renderCharts: (report: never, dir: string) => Promise<string[]> }>
> = {
  churn: () => import('./churn.ts'),
  'connections-call': () => import('./connections-call.ts'),
  fanout: () => import('./fanout.ts'),
  init: () => import('./init.ts'),
  registry: () => import('./registry.ts'),
};

/** `npm run bench -- charts`: redraws every chart from the committed bench/results/*.json, running nothing. */
async function renderAllCharts(): Promise<void> {
  const dir = path.join(import.meta.dirname, 'results');
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const report = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { benchmark?: string };
    const renderer = report.benchmark ? chartRenderers[report.benchmark] : undefined;
    if (!renderer) continue;
    const written = await (await renderer()).renderCharts(report as never, dir);
    process.stdout.write(
      written.length
        ? `${file} → ${written.join(', ')}\n`
        : `${file}: no chart data in it (rerun the benchmark to record it)\n`,
    );
  }
}

const [name, ...rest] = process.argv.slice(2);
if (name === 'charts') {
  await renderAllCharts();
  process.exit(0);
}
const options: Record<string, unknown> = {};
for (let i = 0; i < rest.length; i += 2) {
  const key = rest[i]?.replace(/^--/, '');
  if (key) options[key] = Number.isNaN(Number(rest[i + 1])) ? rest[i + 1] : Number(rest[i + 1]);
}
const names = name === 'all' ? Object.keys(benchmarks) : name ? [name] : [];
if (names.length === 0 || names.some((n) => !benchmarks[n])) {
  process.stderr.write(
    `usage: npm run bench -- <${[...Object.keys(benchmarks), 'all'].join('|')}> [--option value]\n` +
      '       npm run bench -- charts   (redraws the charts from bench/results/*.json)\n',
  );
  process.exit(2);
}
for (const n of names) {
  process.stdout.write(`\n== ${n}\n`);
  const mod = await (
    benchmarks[n] as () => Promise<{ run: (o?: Record<string, unknown>) => Promise<void> }>
  )();
  await mod.run(options);
}
process.exit(0);
