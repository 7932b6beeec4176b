/**
 * B4 — registry selectivity and pagination: how one event finds its subscribers among M live
 * connections, when it targets 0.1 %, 1 % or 100 % of them. Contenders:
 *  - streamgate: `ConnectionStore.subscribers(topicKey)` on the Connections table as the stack
 *    creates it (pk/sk strings), subscriber items `T#{topicKey}#{shard}` over 4 shards — one
 *    strongly consistent Query per shard, paged to the end;
 *  - the naive layout of AWS's sample chat app (aws-samples/simple-websockets-chat-app): one item
 *    per connection `{ connectionId, topics }` keyed by connectionId, looked up with Scan and
 *    filtered in code — once following LastEvaluatedKey to the end, and once as the sample does it:
 *    ONE Scan, no pagination, so everything past the first 1 MB page is silently not delivered;
 *  - an in-memory `Map<topic, Set<connectionId>>`: the ceiling.
 * Per lookup: latency (p50/p99), read capacity units (ReturnConsumedCapacity TOTAL, as DynamoDB
 * Local reports them), DynamoDB calls (pages), items read, and whether the set found is exactly
 * the set targeted. DynamoDB Local runs in-memory in a child process (CPU 0 where taskset exists);
 * this process is the client (CPU 1). M ∈ {10k, M}: the first point is populated, measured, then
 * topped up to M and measured again.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DescribeTableCommand,
  DynamoDBClient,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { InitializeHandler, InitializeHandlerArguments, InitializeMiddleware } from '@smithy/types';
import { ConnectionStore } from '../lambdas/adapters/connection-store.ts';
import { keepAliveRequestHandler } from '../lambdas/adapters/keep-alive.ts';
import { type ConnectionRecord, connectionKey, subscriberKey } from '../lambdas/core/connection.ts';
import { LOCAL_CREDENTIALS } from '../local/credentials.ts';
import { createTables, startDynamoDbLocal } from '../local/dynamodb-local.ts';
import { LogSink } from '../local/log.ts';
import { assertPortFree } from '../local/process.ts';
import { LOCAL_REGION } from '../local/template.ts';
import { barChart, writeChart } from './lib/chart.ts';
import { pinSelf } from './lib/pin.ts';
import { hasTaskset } from './lib/stack-process.ts';
import { summarize, table } from './lib/stats.ts';

interface Options {
  /** The largest M; 10,000 is measured first when M is larger. */
  connections?: number;
  /** Timed lookups per (M, target, contender), after 3 warm-ups. */
  repeats?: number;
  /** Time budget of one (M, target, contender) cell: it stops early, after at least 5 lookups. */
  cellSeconds?: number;
  port?: number;
}

const root = path.resolve(import.meta.dirname, '..');
const SHARDS = 4; // TOPIC_SHARDS' default in lambdas/shared/services.ts
const WARMUPS = 3;
const JVM_WARMUP_SECONDS = 10;
const BATCH = 25;
const WRITE_CONCURRENCY = 8;
const CONNECTIONS_TABLE = 'bench-registry-Connections';
const NAIVE_TABLE = 'bench-registry-simplechat_connections';

/**
 * Topic layout. API Gateway connection i (i = 0…M−1) is opened on channel `/sel/all`, its own
 * topic (`topicKeys[0]`, as `$connect` registers it), so `sel/all` targets 100 % of M. Every 100th
 * connection also subscribed to `sel/1` (1 %), every 1000th to `sel/0.1` (0.1 %) — at most 3 of the
 * 20 topics a connection may hold. Each connection is thus 1–3 subscriber items in streamgate's
 * table (plus its `C#` record) and exactly one item, whatever its topics, in the naive table. The
 * layout is by index, so topping 10k up to 50k keeps every fraction exact.
 */
const QUALIFIED_CONTEXT = 'carbon.super/registry-bench/1.0.0';
const TARGETS = [
  { pct: 0.1, topicKey: `${QUALIFIED_CONTEXT}/sel/0.1`, every: 1000 },
  { pct: 1, topicKey: `${QUALIFIED_CONTEXT}/sel/1`, every: 100 },
  { pct: 100, topicKey: `${QUALIFIED_CONTEXT}/sel/all`, every: 1 },
] as const;

type Contender =
  | 'streamgate Query'
  | 'naive Scan (all pages)'
  | 'naive Scan (1st page, AWS sample)'
  | 'in-memory Map';
const CONTENDERS: Contender[] = [
  'streamgate Query',
  'naive Scan (all pages)',
  'naive Scan (1st page, AWS sample)',
  'in-memory Map',
];
const CONSISTENCY: Record<Contender, string> = {
  'streamgate Query': 'strong',
  'naive Scan (all pages)': 'eventual',
  'naive Scan (1st page, AWS sample)': 'eventual',
  'in-memory Map': '-',
};

/** What DynamoDB said about the calls of one lookup. */
const meter = { calls: 0, rcu: 0, itemsRead: 0 };
const meterCalls: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> =
  (next: InitializeHandler<ServiceInputTypes, ServiceOutputTypes>, context) =>
  async (args: InitializeHandlerArguments<ServiceInputTypes>) => {
    const command = String((context as { commandName?: string }).commandName);
    if (command !== 'QueryCommand' && command !== 'ScanCommand') return next(args);
    (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
    const result = await next(args);
    const output = result.output as { ConsumedCapacity?: { CapacityUnits?: number }; ScannedCount?: number };
    meter.calls++;
    meter.rcu += output.ConsumedCapacity?.CapacityUnits ?? 0;
    meter.itemsRead += output.ScannedCount ?? 0;
    return result;
  };

export async function run(options: Options = {}): Promise<void> {
  const largest = options.connections ?? 50_000;
  const points = largest > 10_000 ? [10_000, largest] : [largest];
  const repeats = options.repeats ?? 20;
  const cellSeconds = options.cellSeconds ?? 10;
  const port = options.port ?? 29500;
  const host = '127.0.0.1';
  const startedAt = performance.now();
  const loadBefore = os.loadavg();

  // --- DynamoDB Local on CPU 0, this process on CPU 1 -------------------------------------------
  // startDynamoDbLocal has no CPU option, but a child inherits the CPU affinity of the thread that
  // spawns it: this (main) thread is pinned to CPU 0 for the spawn, then moved to CPU 1.
  const taskset = hasTaskset();
  await assertPortFree(port, host, 'DynamoDB Local for the registry benchmark');
  if (taskset) pinSelf('0');
  process.stdout.write(`starting DynamoDB Local (in memory) on port ${port}…\n`);
  const dynamodb = await startDynamoDbLocal({
    port,
    host,
    stateDir: path.join(root, '.streamgate', 'bench'),
    log: new LogSink({ out: process.stdout }),
    credentials: LOCAL_CREDENTIALS,
    region: LOCAL_REGION,
  }).finally(() => pinSelf('1'));
  const selfPinned = pinSelf('1');
  const java = javaChild();
  if (java && taskset) spawnSync('taskset', ['-a', '-cp', '0', String(java)], { stdio: 'ignore' });
  const javaCpus = java ? cpusAllowed(java) : undefined;
  process.stdout.write(
    taskset
      ? `pinned: DynamoDB Local (pid ${java ?? '?'}) to CPUs ${javaCpus ?? '?'}, this process to CPU ${selfPinned ? '1' : '? (taskset failed)'}\n`
      : 'taskset not found: DynamoDB Local and this process are NOT pinned (they share all CPUs)\n',
  );

  const client = new DynamoDBClient({
    endpoint: dynamodb.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    // as lambdas/adapters/dynamo.ts, but with room for a 50k-item Scan page on one local core
    requestHandler: keepAliveRequestHandler({ maxSockets: 50, requestTimeout: 60_000 }),
  });
  client.middlewareStack.add(meterCalls, { step: 'initialize', name: 'benchMeterCalls' });
  const db = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  const store = new ConnectionStore(db, CONNECTIONS_TABLE, SHARDS);

  const rows: Record<string, string | number>[] = [];
  const results: Record<string, unknown>[] = [];
  const populations: Record<string, unknown>[] = [];
  try {
    // The Connections table exactly as lib/streamgate-stack.ts defines it (pk/sk strings, TTL on
    // expiresAt), created by the local stack's own createTables; the sample's table keyed by
    // connectionId alone.
    await createTables(
      dynamodb.client,
      [
        {
          logicalId: 'ConnectionsTable',
          name: CONNECTIONS_TABLE,
          keySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          attributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          ttlAttribute: 'expiresAt',
        },
        {
          logicalId: 'SimpleChatConnections',
          name: NAIVE_TABLE,
          keySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
          attributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }],
        },
      ],
      () => true,
    );
    await checkItemShapes(db, store);

    const ids: string[] = [];
    const byTopic = new Map<string, Set<string>>(); // the in-memory contender
    const now = Date.now();
    for (const m of points) {
      // --- populate up to m -------------------------------------------------------------------
      const from = ids.length;
      process.stdout.write(
        `\npopulating connections ${from}…${m - 1} (BatchWrite, ${BATCH} items a call)…\n`,
      );
      const populateStart = performance.now();
      let items = 0;
      for (let chunk = from; chunk < m; chunk += 5_000) {
        const sgItems: Record<string, unknown>[] = [];
        const naiveItems: Record<string, unknown>[] = [];
        for (let i = chunk; i < Math.min(m, chunk + 5_000); i++) {
          const connectionId = apiGatewayConnectionId();
          ids.push(connectionId);
          const record = connectionRecord(connectionId, topicKeysOf(i), now);
          sgItems.push({ ...connectionKey(connectionId), ...record });
          for (const topicKey of record.topicKeys) {
            sgItems.push(subscriberItem(topicKey, record));
            const set = byTopic.get(topicKey) ?? new Set<string>();
            byTopic.set(topicKey, set.add(connectionId));
          }
          naiveItems.push({ connectionId, topics: record.topicKeys });
        }
        items += sgItems.length + naiveItems.length;
        await batchWriteAll(db, [
          ...chunks(sgItems, BATCH).map((batch) => ({ table: CONNECTIONS_TABLE, items: batch })),
          ...chunks(naiveItems, BATCH).map((batch) => ({ table: NAIVE_TABLE, items: batch })),
        ]);
        const seconds = (performance.now() - populateStart) / 1000;
        process.stdout.write(
          `  ${ids.length} connections (${items} items written, ${Math.round(items / seconds)} items/s)\n`,
        );
      }
      const populateSeconds = (performance.now() - populateStart) / 1000;
      const tables = {
        streamgate: await describe(dynamodb.client, CONNECTIONS_TABLE),
        naive: await describe(dynamodb.client, NAIVE_TABLE),
      };
      populations.push({ connections: m, itemsWritten: items, seconds: populateSeconds, tables });
      process.stdout.write(
        `  done in ${populateSeconds.toFixed(1)} s; tables: streamgate ${fmtTable(tables.streamgate)}, naive ${fmtTable(tables.naive)}\n`,
      );

      // --- measure ------------------------------------------------------------------------------
      if (m === points[0]) {
        // DynamoDB Local is a JVM: let its JIT compile the Query and Scan paths before anything counts.
        process.stdout.write(`warming up the JVM (${JVM_WARMUP_SECONDS} s of untimed lookups)…\n`);
        const until = performance.now() + JVM_WARMUP_SECONDS * 1000;
        while (performance.now() < until)
          for (const target of TARGETS)
            for (const contender of CONTENDERS)
              await lookupOf(contender, target.topicKey, store, db, byTopic)();
      }
      for (const target of TARGETS) {
        const expected = byTopic.get(target.topicKey) ?? new Set<string>();
        if (expected.size !== Math.ceil(m / target.every))
          throw new Error(`layout: ${target.topicKey} has ${expected.size} of ${m}`);
        for (const contender of CONTENDERS) {
          const lookup = lookupOf(contender, target.topicKey, store, db, byTopic);
          const latencies: number[] = [];
          let last: { ids: string[]; calls: number; rcu: number; itemsRead: number } | undefined;
          const varying = new Set<string>();
          const cellStart = performance.now();
          for (let r = 0; r < WARMUPS + repeats; r++) {
            // a slow cell (a 50k Scan takes seconds here) stops at its time budget, after 5 lookups
            if (r >= WARMUPS + 5 && performance.now() - cellStart > cellSeconds * 1000) break;
            meter.calls = 0;
            meter.rcu = 0;
            meter.itemsRead = 0;
            const t0 = performance.now();
            const found = await lookup();
            const elapsed = performance.now() - t0;
            if (r < WARMUPS) continue;
            latencies.push(elapsed);
            const current = { ids: found, ...meter };
            if (last) {
              if (last.calls !== current.calls) varying.add('calls');
              if (last.rcu !== current.rcu) varying.add('rcu');
              if (last.ids.length !== current.ids.length) varying.add('found');
            }
            last = current;
          }
          if (!last) throw new Error('no lookups');
          const check = compare(last.ids, expected);
          const stats = summarize(latencies);
          const row = {
            M: m,
            'target %': target.pct,
            contender,
            read: CONSISTENCY[contender],
            'p50 ms': fmtMs(stats.p50),
            'p99 ms': fmtMs(stats.p99),
            n: stats.n,
            'RCU/lookup': contender === 'in-memory Map' ? '-' : fmtUnits(last.rcu),
            calls: contender === 'in-memory Map' ? '-' : last.calls,
            'items read': contender === 'in-memory Map' ? last.ids.length : last.itemsRead,
            'found/expected': `${check.hits}/${expected.size}`,
            correct: check.correct
              ? 'yes'
              : `NO (${check.missed} missed${check.extra ? `, ${check.extra} extra` : ''})`,
          };
          rows.push(row);
          results.push({
            connections: m,
            targetPct: target.pct,
            topicKey: target.topicKey,
            contender,
            consistency: CONSISTENCY[contender],
            latencyMs: stats,
            rcuPerLookup: contender === 'in-memory Map' ? 0 : last.rcu,
            callsPerLookup: contender === 'in-memory Map' ? 0 : last.calls,
            itemsReadPerLookup: contender === 'in-memory Map' ? last.ids.length : last.itemsRead,
            expected: expected.size,
            found: last.ids.length,
            hits: check.hits,
            missed: check.missed,
            extra: check.extra,
            correct: check.correct,
            ...(varying.size ? { variedBetweenRepeats: [...varying] } : {}),
          });
          process.stdout.write(
            `  M=${m} ${target.pct}% ${contender}: p50 ${row['p50 ms']} ms, ${row.calls} calls, ${row['RCU/lookup']} RCU, ${row['found/expected']}\n`,
          );
        }
      }
    }
  } finally {
    client.destroy();
    await dynamodb.stop();
  }

  process.stdout.write(
    `\nB4 registry selectivity and pagination — DynamoDB Local ${taskset ? '(CPU 0; client CPU 1)' : '(not pinned)'}, ` +
      `${SHARDS} shards; per cell ${repeats} timed lookups (fewer, at least 5, past ${cellSeconds} s) after ${WARMUPS} warm-ups\n${table(rows)}\n`,
  );
  const cpus = os.cpus();
  const resultsDir = path.join(import.meta.dirname, 'results');
  const file = path.join(resultsDir, 'registry.json');
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        benchmark: 'registry',
        at: new Date().toISOString(),
        machine: {
          cpu: cpus[0]?.model ?? 'unknown',
          cpus: cpus.length,
          totalMemoryBytes: os.totalmem(),
          // other work on the machine shows here: latencies are only comparable on a quiet one
          loadAverage1m: { before: loadBefore[0], after: os.loadavg()[0] },
          pinned: taskset
            ? { dynamodbLocal: javaCpus ?? 'unknown', client: selfPinned ? '1' : 'unknown' }
            : false,
        },
        shards: SHARDS,
        repeats,
        cellSeconds,
        warmups: WARMUPS,
        jvmWarmupSeconds: JVM_WARMUP_SECONDS,
        layout: TARGETS.map((t) => ({ targetPct: t.pct, topicKey: t.topicKey, everyNthConnection: t.every })),
        populations,
        rows: results,
        totalSeconds: (performance.now() - startedAt) / 1000,
      },
      null,
      1,
    )}\n`,
  );
  process.stdout.write(`written: ${path.relative(process.cwd(), file)}\n`);

  await renderCharts(
    { repeats, machine: { pinned: taskset }, rows: results as RegistryResults['rows'] },
    resultsDir,
  );
  const chartFile = path.join(resultsDir, 'registry.svg');
  process.stdout.write(`written: ${path.relative(process.cwd(), chartFile)}\n`);
}

function lookupOf(
  contender: Contender,
  topicKey: string,
  store: ConnectionStore,
  db: DynamoDBDocumentClient,
  byTopic: Map<string, Set<string>>,
): () => Promise<string[]> {
  switch (contender) {
    case 'streamgate Query':
      return async () => (await store.subscribers(topicKey)).map((s) => s.connectionId);
    case 'naive Scan (all pages)':
      return () => naiveScan(db, topicKey, true);
    case 'naive Scan (1st page, AWS sample)':
      return () => naiveScan(db, topicKey, false);
    case 'in-memory Map':
      return async () => Array.from(byTopic.get(topicKey) ?? []);
  }
}

/**
 * The sample's lookup (sendmessage/app.js: `ScanCommand({ TableName, ProjectionExpression:
 * 'connectionId' })`, eventually consistent, one call) with the topics it would need to target a
 * subset, filtered in code. `allPages` follows LastEvaluatedKey to the end; the sample does not.
 */
async function naiveScan(db: DynamoDBDocumentClient, topicKey: string, allPages: boolean): Promise<string[]> {
  const found: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: NAIVE_TABLE,
        ProjectionExpression: 'connectionId, topics',
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      if ((item.topics as string[] | undefined)?.includes(topicKey)) found.push(item.connectionId as string);
    }
    startKey = page.LastEvaluatedKey;
  } while (allPages && startKey);
  return found;
}

function compare(found: string[], expected: Set<string>) {
  const unique = new Set(found);
  let hits = 0;
  for (const id of unique) if (expected.has(id)) hits++;
  const extra = unique.size - hits + (found.length - unique.size); // strangers and duplicates
  const missed = expected.size - hits;
  return { hits, missed, extra, correct: missed === 0 && extra === 0 };
}

/** A ConnectionRecord as `$connect` writes it (newConnectionRecord's fields), with a subscription list. */
function connectionRecord(connectionId: string, topicKeys: string[], connectedAt: number): ConnectionRecord {
  const expiresAt = Math.floor(connectedAt / 1000) + 2 * 60 * 60 + 15 * 60;
  return {
    connectionId,
    qualifiedContext: QUALIFIED_CONTEXT,
    apiId: 'registrybench',
    channel: '/sel/all',
    topic: '/sel/all',
    topicKey: topicKeys[0] as string,
    params: {},
    principal: {
      issuer: 'https://localhost/oauth2/token',
      subject: 'bench-app',
      clientId: 'BENCHCLIENTID0000000000000',
      scopes: ['chat:read'],
      tenant: 'carbon.super',
      keyType: 'PRODUCTION',
      expiresAt,
      appId: 'app-bench',
      appName: 'RegistryBench',
    },
    connectedAt,
    expiresAt,
    topicKeys,
    app: { appId: 'app-bench', appName: 'RegistryBench' },
  };
}

function topicKeysOf(i: number): string[] {
  const all = TARGETS.find((t) => t.every === 1)?.topicKey as string;
  return [all, ...TARGETS.filter((t) => t.every > 1 && i % t.every === 0).map((t) => t.topicKey)];
}

/** The subscriber item ConnectionStore writes (its private subscriberItem), checked by checkItemShapes. */
function subscriberItem(topicKey: string, record: ConnectionRecord): Record<string, unknown> {
  return {
    ...subscriberKey(topicKey, record.connectionId, SHARDS),
    connectionId: record.connectionId,
    expiresAt: record.expiresAt,
    ...(record.app ? { appId: record.app.appId, appName: record.app.appName } : {}),
  };
}

/** Register one probe connection through ConnectionStore.put and compare with what is batch-written here. */
async function checkItemShapes(db: DynamoDBDocumentClient, store: ConnectionStore): Promise<void> {
  const topicKey = `${QUALIFIED_CONTEXT}/probe`;
  const record = connectionRecord(apiGatewayConnectionId(), [topicKey], Date.now());
  await store.put(record);
  const written = [
    (await db.send(new GetCommand({ TableName: CONNECTIONS_TABLE, Key: connectionKey(record.connectionId) })))
      .Item,
    (
      await db.send(
        new GetCommand({
          TableName: CONNECTIONS_TABLE,
          Key: subscriberKey(topicKey, record.connectionId, SHARDS),
        }),
      )
    ).Item,
  ];
  const ours = [{ ...connectionKey(record.connectionId), ...record }, subscriberItem(topicKey, record)];
  const canonical = (item: unknown) =>
    JSON.stringify(item, (_k, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
        : v,
    );
  for (const [i, item] of written.entries()) {
    if (canonical(item) !== canonical(ours[i]))
      throw new Error(
        `item shapes differ from ConnectionStore.put's:\n${canonical(item)}\n${canonical(ours[i])}`,
      );
  }
  await store.remove(record.connectionId);
}

/** Many BatchWrites, WRITE_CONCURRENCY at a time, each retried on UnprocessedItems. */
async function batchWriteAll(
  db: DynamoDBDocumentClient,
  batches: { table: string; items: Record<string, unknown>[] }[],
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++] as (typeof batches)[number];
      let requests = batch.items.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length; attempt++) {
        if (attempt > 10) throw new Error(`BatchWrite to ${batch.table} kept leaving items unprocessed`);
        const { UnprocessedItems } = await db.send(
          new BatchWriteCommand({ RequestItems: { [batch.table]: requests } }),
        );
        requests = (UnprocessedItems?.[batch.table] ?? []) as typeof requests;
        if (requests.length) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
      }
    }
  };
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** API Gateway's connection ids look like `L0SM9cOFvHcCIhw=`. */
function apiGatewayConnectionId(): string {
  return randomBytes(10).toString('base64');
}

async function describe(client: DynamoDBClient, name: string) {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
  return { items: Table?.ItemCount, bytes: Table?.TableSizeBytes };
}

function fmtTable(t: { items: number | undefined; bytes: number | undefined }): string {
  return `${t.items ?? '?'} items / ${t.bytes === undefined ? '?' : (t.bytes / 1e6).toFixed(1)} MB`;
}

function fmtMs(ms: number): string {
  return ms < 0.1 ? ms.toFixed(4) : ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

function fmtUnits(units: number): string {
  return Number.isInteger(units) ? String(units) : units.toFixed(1);
}

/** The DynamoDB Local java process this process started (its main thread is the parent). */
function javaChild(): number | undefined {
  const file = `/proc/${process.pid}/task/${process.pid}/children`;
  if (!existsSync(file)) return undefined;
  for (const pid of readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'java') return Number(pid);
    } catch {
      // gone
    }
  }
  return undefined;
}

function cpusAllowed(pid: number): string | undefined {
  try {
    return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** What registry.json holds that the chart reads. */
export interface RegistryResults {
  repeats: number;
  /** False when DynamoDB Local and the client were not pinned to their own CPUs. */
  machine: { pinned: unknown };
  rows: { connections: number; targetPct: number; contender: string; latencyMs: { p50: number } }[];
}

/** registry.svg from registry.json: p50 lookup latency per contender, per population and selectivity. */
export async function renderCharts(report: RegistryResults, dir: string): Promise<string[]> {
  const { repeats, rows: results } = report;
  const taskset = report.machine.pinned !== false;
  const points = [...new Set(results.map((r) => r.connections))];
  const svg = await barChart({
    title: 'B4 registry lookup: p50 latency per contender',
    yLabel: 'p50 ms (log)',
    logY: true,
    groups: points.flatMap((m) =>
      TARGETS.map((target) => ({
        label: `${m / 1000}k / ${target.pct}%`,
        bars: CONTENDERS.map((contender) => {
          const result = results.find(
            (r) => r.connections === m && r.targetPct === target.pct && r.contender === contender,
          );
          return { name: contender, value: result?.latencyMs.p50 ?? Number.NaN };
        }),
      })),
    ),
    note: `DynamoDB Local in memory${taskset ? ' (CPU 0, client CPU 1)' : ''}; p50 of ${repeats} lookups (≥5 when slow)`,
  });
  writeChart(path.join(dir, 'registry.svg'), svg);
  return ['registry.svg'];
}
