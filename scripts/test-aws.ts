#!/usr/bin/env -S npx tsx
/**
 * `npm run test:aws`: the parity check on AWS. Deploys a uniquely named stack with Kafka on, runs
 * the seed scenarios of test/scenarios against its wss edge and MSK cluster (the same code the local
 * integration tests run), prints a result table, and destroys the stack — also when a scenario fails
 * or on Ctrl-C. Without credentials or region it says what it needs and exits 1 at once.
 * Not part of `npm test`: it costs money and needs an AWS account (README, "Checking parity on AWS").
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DeleteTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { KafkaClient } from '@aws-sdk/client-kafka';
import { LambdaClient, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ManagementClient } from '../cli/management-client.ts';
import { loadCatalog } from '../lib/definitions/load.ts';
import { awsTarget, parseStackOutputs, provisionApplications } from '../test/scenarios/aws-target.ts';
import { SEED_SCENARIOS } from '../test/scenarios/seeds.ts';
import { NotReachable } from '../test/scenarios/target.ts';
import {
  cannotRunMessage,
  cdkArgs,
  exitCode,
  hourlyCostUsd,
  type Preflight,
  parityStackName,
  progressLine,
  resultTable,
  type ScenarioResult,
} from './parity.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
const say = (text: string) =>
  process.stdout.write(
    `[test:aws ${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s] ${text}\n`,
  );

/** The stack's hourly cost from bench/prices.json (2 seed topics; 4 interface endpoints in 2 AZs). */
function costPerHour(): number {
  const prices = JSON.parse(readFileSync(path.join(root, 'bench', 'prices.json'), 'utf8')) as {
    msk: { serverless: { clusterHourUsd: number; partitionHourUsd: number } };
  };
  return hourlyCostUsd(prices.msk.serverless, { partitions: 2, endpoints: 4, azs: 2 });
}

/**
 * Credentials and region from the SDK's default chains (no network unless a chain asks the
 * instance metadata service), then the caller's identity (STS GetCallerIdentity, 10 s at most).
 */
async function preflight(): Promise<{ missing?: Preflight; account?: string; region?: string }> {
  const missing: Preflight = {};
  const probe = new KafkaClient({});
  let region: string | undefined;
  try {
    region = await probe.config.region();
  } catch (error) {
    missing.region = (error as Error).message.split('\n')[0] ?? 'none set';
  }
  try {
    await probe.config.credentials();
  } catch (error) {
    missing.credentials = (error as Error).message.split('\n')[0] ?? 'none found';
  }
  probe.destroy();
  if (missing.credentials || missing.region) return { missing };
  const sts = new STSClient({ region, requestHandler: { connectionTimeout: 5_000, requestTimeout: 10_000 } });
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    return { account: identity.Account as string, region: region as string };
  } catch (error) {
    return { missing: { identity: (error as Error).message } };
  } finally {
    sts.destroy();
  }
}

// --- child processes and Ctrl-C -------------------------------------------------------------------

let interrupted = false;
/** The destroy has started: Ctrl-C no longer stops anything (the child runs in its own process group). */
let destroying = false;
let current: ChildProcess | undefined;
let onInterrupt: (() => void) | undefined;

/**
 * `npx cdk …` in the project, its output in `log` and its progress lines on the terminal. A destroy
 * runs in its own process group, so a Ctrl-C in the terminal does not stop it half-way.
 */
function cdk(args: string[], log: NodeJS.WritableStream, detached = false): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('npx', args, {
      cwd: root,
      env: process.env,
      detached,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    current = child;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        log.write(`${line}\n`);
        const progress = progressLine(line);
        if (progress) say(`  ${progress}`);
      });
    }
    child.on('error', (error) => {
      log.write(`${error.message}\n`);
      resolve(1);
    });
    child.on('exit', (code) => {
      current = undefined;
      resolve(code ?? 1);
    });
  });
}

/** Resolves when every Kafka event source mapping of the cluster is Enabled (15 minutes at most). */
async function mappingsEnabled(clusterArn: string, region: string): Promise<void> {
  const lambda = new LambdaClient({ region });
  try {
    for (const deadline = Date.now() + 15 * 60_000; Date.now() < deadline && !interrupted; ) {
      const { EventSourceMappings = [] } = await lambda.send(
        new ListEventSourceMappingsCommand({ EventSourceArn: clusterArn }),
      );
      const waiting = EventSourceMappings.filter((m) => m.State !== 'Enabled');
      if (EventSourceMappings.length > 0 && waiting.length === 0) return;
      say(`  waiting for ${waiting.length || 'the'} event source mapping(s) to be Enabled…`);
      await new Promise((r) => setTimeout(r, 15_000));
    }
    say('  the event source mappings are not all Enabled; the Kafka scenarios may fail');
  } finally {
    lambda.destroy();
  }
}

/** Tables CloudFormation kept after the destroy (the registry is RETAIN), named after the run's stack: deleted. */
async function deleteRetainedTables(stackName: string, region: string): Promise<string[]> {
  const dynamodb = new DynamoDBClient({ region });
  const deleted: string[] = [];
  try {
    const { TableNames = [] } = await dynamodb.send(
      new ListTablesCommand({ ExclusiveStartTableName: stackName }),
    );
    for (const name of TableNames.filter((n) => n.startsWith(`${stackName}-`))) {
      await dynamodb.send(new DeleteTableCommand({ TableName: name }));
      deleted.push(name);
    }
  } finally {
    dynamodb.destroy();
  }
  return deleted;
}

/** Runs the scenarios in order, each result into `results` (by index) as it ends; stops starting new ones on Ctrl-C. */
async function runScenarios(target: ReturnType<typeof awsTarget>, results: ScenarioResult[]): Promise<void> {
  for (const [index, scenario] of SEED_SCENARIOS.entries()) {
    if (interrupted) return;
    const base = { name: scenario.name, seed: scenario.seed };
    const t0 = Date.now();
    say(`scenario ${scenario.seed} ${scenario.name}…`);
    try {
      await scenario.run(target);
      results[index] = { ...base, status: 'passed', ms: Date.now() - t0 };
    } catch (error) {
      const status = error instanceof NotReachable ? 'not reachable' : 'failed';
      results[index] = {
        ...base,
        status,
        ms: Date.now() - t0,
        detail: (error as Error).message.split('\n')[0],
      };
    }
    say(`  ${results[index]?.status}`);
  }
}

async function main(): Promise<number> {
  const hourly = costPerHour();
  const checked = await preflight();
  if (checked.missing) {
    process.stderr.write(`${cannotRunMessage(checked.missing, hourly)}\n`);
    return 1;
  }
  const region = checked.region as string;
  const stackName = parityStackName();
  const stateDir = path.join(root, '.streamgate', 'parity');
  await mkdir(stateDir, { recursive: true });
  const outputsFile = path.join(stateDir, `${stackName}.outputs.json`);
  const logFile = path.join(stateDir, `${stackName}.log`);
  const log = createWriteStream(logFile);
  say(
    `account ${checked.account}, region ${region}: deploying ${stackName} (Kafka on, about $${hourly.toFixed(2)}/hour while it exists)`,
  );
  say(`CDK output: ${path.relative(process.cwd(), logFile)}`);

  const results: ScenarioResult[] = SEED_SCENARIOS.map((s) => ({
    name: s.name,
    seed: s.seed,
    status: 'not run',
    ms: 0,
  }));
  let stackMayExist = false;
  const interruption = new Promise<void>((resolve) => {
    onInterrupt = resolve;
  });
  try {
    stackMayExist = true; // a failed or interrupted deploy may still have created it
    const code = await cdk(cdkArgs('deploy', stackName, outputsFile), log);
    if (interrupted) throw new Error('interrupted during the deploy');
    if (code !== 0) {
      const text = readFileSync(logFile, 'utf8');
      const hint = /bootstrap/i.test(text) ? ' — is the environment bootstrapped? npx cdk bootstrap' : '';
      throw new Error(`cdk deploy exited ${code}${hint} (see ${logFile})`);
    }
    const outputs = parseStackOutputs(await readFile(outputsFile, 'utf8'), stackName);
    say(`deployed: ${outputs.edgeUrl}`);
    const management = new ManagementClient(outputs.httpApiUrl);
    const catalog = await loadCatalog(path.join(root, 'apis'), { displayRoot: root });
    const { keys, refused } = await provisionApplications(management, catalog.apis, stackName.toLowerCase());
    for (const line of refused) say(`  not subscribed: ${line}`);
    if (outputs.kafkaClusterArn) await mappingsEnabled(outputs.kafkaClusterArn, region);
    const target = awsTarget(outputs, management, keys);
    try {
      await Promise.race([runScenarios(target, results), interruption]);
    } finally {
      await target.close().catch(() => undefined);
    }
  } catch (error) {
    say(`stopped: ${(error as Error).message}`);
  } finally {
    if (stackMayExist) {
      destroying = true;
      say(`destroying ${stackName} (Ctrl-C no longer stops this)…`);
      const code = await cdk(cdkArgs('destroy', stackName, outputsFile), log, true);
      if (code === 0) {
        const tables = await deleteRetainedTables(stackName, region).catch((error: Error) => {
          say(`  could not list or delete the retained tables: ${error.message}`);
          return [];
        });
        say(`destroyed${tables.length ? `; deleted the retained table(s) ${tables.join(', ')}` : ''}`);
      } else {
        say(
          `cdk destroy exited ${code}: delete the stack yourself: npx ${cdkArgs('destroy', stackName, outputsFile).join(' ')}`,
        );
        results.push({
          name: `destroy ${stackName}`,
          seed: '-',
          status: 'failed',
          ms: 0,
          detail: `see ${logFile}`,
        });
      }
    }
    log.end();
  }
  process.stdout.write(`\n${resultTable(results)}\n`);
  return exitCode(results);
}

const interrupt = () => {
  if (destroying) {
    say('Ctrl-C: the destroy goes on (leaving the stack would keep costing money)');
    return;
  }
  if (interrupted) return;
  interrupted = true;
  say('Ctrl-C: stopping, then destroying the stack');
  current?.kill('SIGINT');
  onInterrupt?.();
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`test:aws: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
