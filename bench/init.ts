/**
 * Cold-start cost of each function: bundle size, and the time to load its bundle and run its module
 * scope (SDK clients, configuration checks) in a fresh Node process — what Lambda reports as part of
 * Init Duration, without the runtime's own start. With and without `--enable-source-maps` (the house
 * construct sets it: stack traces point at the TypeScript). Functions are synthesized from the CDK
 * app; their environment comes from the template, with placeholders where it holds references.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { synthesize } from '../local/stack.ts';
import { barChart, writeChart } from './lib/chart.ts';
import { summarize, table } from './lib/stats.ts';

interface LambdaResource {
  Type: string;
  Properties?: {
    Handler?: string;
    MemorySize?: number;
    Code?: { S3Key?: string };
    Environment?: { Variables?: Record<string, unknown> };
  };
}

/** What init.json holds (the fields the chart reads). */
export interface InitResults {
  benchmark: 'init';
  at: string;
  node: string;
  samples: number;
  results: {
    function: string;
    bytes: number;
    init: { p50: number };
    initWithSourceMaps: { p50: number };
    error: string | undefined;
  }[];
}

/** init.svg from init.json's results: median module init per function, with and without source maps. */
export async function renderCharts(report: InitResults, dir: string): Promise<string[]> {
  writeChart(
    path.join(dir, 'init.svg'),
    await barChart({
      title: 'Module init per function (fresh Node process, median)',
      yLabel: 'ms',
      note: `Node ${report.node} · ${report.at.slice(0, 10)}`,
      groups: report.results.map((r) => ({
        label: r.function,
        bars: [
          { name: 'init', value: r.init.p50 },
          { name: 'with --enable-source-maps', value: r.initWithSourceMaps.p50 },
        ],
      })),
    }),
  );
  return ['init.svg'];
}

/** Runs in the child: load the handler module, report how long that took, or why it failed. */
const PROBE = `
const started = performance.now();
let error;
try { require(process.env.PROBE_FILE); } catch (e) { error = String(e && e.message || e).slice(0, 200); }
process.stdout.write(JSON.stringify({ ms: performance.now() - started, error }));
`;

export async function run(options: { samples?: number } = {}): Promise<void> {
  const samples = options.samples ?? 7;
  const outdir = mkdtempSync(path.join(tmpdir(), 'streamgate-init-'));
  process.stdout.write('synthesizing the CDK app (bundles every function)…\n');
  await synthesize(outdir);
  const template = JSON.parse(readFileSync(path.join(outdir, 'Streamgate.template.json'), 'utf8')) as {
    Resources: Record<string, LambdaResource>;
  };
  const pinned = !spawnSync('taskset', ['-c', '1', 'true']).error;
  const rows: Record<string, string | number>[] = [];
  const results: InitResults['results'] = [];
  const functions = Object.entries(template.Resources).filter(
    ([, r]) =>
      r.Type === 'AWS::Lambda::Function' &&
      typeof r.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'string',
  );
  for (const [logicalId, resource] of functions) {
    const props = resource.Properties ?? {};
    const name = logicalId.replace(/[0-9A-F]{8}$/, '');
    const hash = props.Code?.S3Key?.replace(/\.zip$/, '');
    const moduleName = (props.Handler ?? 'index.handler').replace(/\.[^.]+$/, '');
    const file = path.join(outdir, `asset.${hash}`, `${moduleName}.js`);
    const bytes = statSync(file).size;
    const environment = placeholders(props.Environment?.Variables ?? {});
    const measure = (sourceMaps: boolean) => {
      const times: number[] = [];
      let error: string | undefined;
      for (let i = 0; i < samples; i++) {
        const env = {
          PATH: process.env.PATH,
          ...environment,
          NODE_OPTIONS: sourceMaps ? '--enable-source-maps' : '',
          NODE_PATH: path.resolve(import.meta.dirname, '..', 'node_modules'),
          PROBE_FILE: file,
          AWS_REGION: 'us-east-1',
          AWS_LAMBDA_FUNCTION_NAME: name,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(props.MemorySize ?? 128),
          AWS_ACCESS_KEY_ID: 'AKIDBENCHMARK',
          AWS_SECRET_ACCESS_KEY: 'benchmark',
          AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
        };
        const command = pinned ? 'taskset' : process.execPath;
        const args = [...(pinned ? ['-c', '1', process.execPath] : []), '--no-warnings', '-e', PROBE];
        const child = spawnSync(command, args, { env, encoding: 'utf8' });
        const report = JSON.parse(child.stdout || '{}') as { ms?: number; error?: string };
        if (report.error) error = report.error;
        if (typeof report.ms === 'number') times.push(report.ms);
      }
      return { stats: summarize(times), error };
    };
    const plain = measure(false);
    const withMaps = measure(true);
    process.stdout.write(
      `  ${name}: ${plain.stats.p50.toFixed(0)} ms${plain.error ? ` (${plain.error})` : ''}\n`,
    );
    rows.push({
      function: name,
      'bundle KB': Number((bytes / 1024).toFixed(1)),
      'init p50 ms': Number(plain.stats.p50.toFixed(1)),
      'init max ms': Number(plain.stats.max.toFixed(1)),
      'with source maps p50 ms': Number(withMaps.stats.p50.toFixed(1)),
      error: plain.error ?? '',
    });
    results.push({
      function: name,
      bytes,
      init: plain.stats,
      initWithSourceMaps: withMaps.stats,
      error: plain.error,
    });
  }
  process.stdout.write(
    `\nbundle size and module init per function, ${samples} fresh processes each${pinned ? ' (CPU 1)' : ''}\n${table(rows)}\n`,
  );
  const dir = path.join(import.meta.dirname, 'results');
  const report: InitResults = {
    benchmark: 'init',
    at: new Date().toISOString(),
    node: process.version,
    samples,
    results,
  };
  writeFileSync(path.join(dir, 'init.json'), `${JSON.stringify(report, null, 1)}\n`);
  await renderCharts(report, dir);
  process.stdout.write('written: bench/results/init.json, init.svg\n');
}

/**
 * The template's environment, with a stand-in for every CloudFormation reference; an `Fn::Join`
 * keeps its literal parts (JSON settings stay JSON, with stand-ins where the references were).
 */
function placeholders(variables: Record<string, unknown>): Record<string, string> {
  const standIn = (key: string) =>
    key.endsWith('_URL')
      ? 'http://127.0.0.1:9/placeholder'
      : key.endsWith('_ARN')
        ? 'arn:aws:lambda:us-east-1:111111111111:function:placeholder'
        : 'placeholder';
  const refStandIn = (ref: unknown) =>
    /(Endpoint|Url)$/.test(String((ref as { 'Fn::GetAtt'?: string[] })['Fn::GetAtt']?.[1]))
      ? 'https://placeholder.example'
      : 'placeholder';
  const resolve = (key: string, value: unknown): string => {
    if (typeof value === 'string') return value;
    const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (join)
      return join[1].map((part) => (typeof part === 'string' ? part : refStandIn(part))).join(join[0]);
    return standIn(key);
  };
  return Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, resolve(key, value)]));
}
