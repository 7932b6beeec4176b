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

const [name, ...rest] = process.argv.slice(2);
const options: Record<string, unknown> = {};
for (let i = 0; i < rest.length; i += 2) {
  const key = rest[i]?.replace(/^--/, '');
  if (key) options[key] = Number.isNaN(Number(rest[i + 1])) ? rest[i + 1] : Number(rest[i + 1]);
}
const names = name === 'all' ? Object.keys(benchmarks) : name ? [name] : [];
if (names.length === 0 || names.some((n) => !benchmarks[n])) {
  process.stderr.write(
    `usage: npm run bench -- <${[...Object.keys(benchmarks), 'all'].join('|')}> [--option value]\n`,
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
