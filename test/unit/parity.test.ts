import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { ManagementClient } from '../../cli/management-client.ts';
import type { ApiDef } from '../../lambdas/core/catalog.ts';
import {
  cannotRunMessage,
  cdkArgs,
  exitCode,
  hourlyCostUsd,
  KAFKA_ON_CONTEXT,
  PARITY_STACK_PREFIX,
  parityStackName,
  progressLine,
  resultTable,
  type ScenarioResult,
} from '../../scripts/parity.ts';
import { awsTarget, parseStackOutputs, planFor, provisionApplications } from '../scenarios/aws-target.ts';
import { SEED_SCENARIOS } from '../scenarios/seeds.ts';
import { NotReachable } from '../scenarios/target.ts';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

describe('the parity stack', () => {
  it('gets a fresh CloudFormation-valid name per run', () => {
    const name = parityStackName(() => Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(name).toBe(`${PARITY_STACK_PREFIX}deadbeef`);
    expect(PARITY_STACK_PREFIX).toBe('Streamgate-parity-');
    expect(parityStackName()).toMatch(/^Streamgate-parity-[0-9a-f]{8}$/);
    expect(parityStackName()).not.toBe(parityStackName());
    expect(name).toMatch(/^[A-Za-z][A-Za-z0-9-]{0,127}$/);
  });

  it('is deployed with its name and Kafka on, without questions, its outputs to a file; destroyed with --force', () => {
    const [contextKey, contextValue] = Object.entries(KAFKA_ON_CONTEXT)[0] as [string, string];
    expect(cdkArgs('deploy', 'Streamgate-parity-1', '/tmp/o.json')).toEqual([
      'cdk',
      'deploy',
      'Streamgate-parity-1',
      '-c',
      'stackName=Streamgate-parity-1',
      '-c',
      `${contextKey}=${contextValue}`,
      '--require-approval',
      'never',
      '--outputs-file',
      '/tmp/o.json',
    ]);
    expect(cdkArgs('destroy', 'Streamgate-parity-1', '/tmp/o.json')).toEqual([
      'cdk',
      'destroy',
      'Streamgate-parity-1',
      '-c',
      'stackName=Streamgate-parity-1',
      '-c',
      `${contextKey}=${contextValue}`,
      '--force',
    ]);
  });

  it('shows resource steps that end, CDK marks and errors as progress; not the rest', () => {
    expect(
      progressLine(
        'Streamgate-parity-1 |  12/80 | 10:01:02 AM | CREATE_COMPLETE      | AWS::DynamoDB::Table | Tables/ConnectionsTable',
      ),
    ).toContain('CREATE_COMPLETE');
    expect(progressLine('  UPDATE_FAILED | AWS::Lambda::Function | Producer')).toContain('UPDATE_FAILED');
    expect(progressLine(' ✅  Streamgate-parity-1')).toBe('✅  Streamgate-parity-1');
    expect(
      progressLine('❌  Streamgate-parity-1 failed: Error: The stack named … failed creation'),
    ).toBeDefined();
    expect(progressLine('Streamgate-parity-1 | 3/80 | CREATE_IN_PROGRESS | AWS::IAM::Role')).toBeUndefined();
    expect(progressLine('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS')).toBeUndefined();
    expect(progressLine('   ')).toBeUndefined();
    expect(progressLine('Bundling asset Streamgate/Connect/Code/Stage...')).toBeUndefined();
  });
});

describe('the stack outputs → a scenario target', () => {
  const outputs = JSON.stringify({
    'Streamgate-parity-1': {
      EdgeUrl: 'wss://d111.cloudfront.net',
      HttpApiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/',
      KafkaClusterArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/streamgate/0f1e-2d3c-4b5a',
      WebSocketUrl: 'wss://xyz.execute-api.eu-west-1.amazonaws.com/prod',
    },
  });

  it('reads the edge, the HTTP API (no trailing slash) and the cluster', () => {
    expect(parseStackOutputs(outputs, 'Streamgate-parity-1')).toEqual({
      edgeUrl: 'wss://d111.cloudfront.net',
      httpApiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com',
      kafkaClusterArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/streamgate/0f1e-2d3c-4b5a',
    });
  });

  it('names what is missing', () => {
    expect(() => parseStackOutputs(outputs, 'Other')).toThrow(
      'the outputs file has no stack Other (it has Streamgate-parity-1)',
    );
    expect(() => parseStackOutputs(JSON.stringify({ S: { EdgeUrl: 'wss://e' } }), 'S')).toThrow(
      'stack S has no output HttpApiUrl',
    );
    expect(() =>
      parseStackOutputs(JSON.stringify({ S: { EdgeUrl: 'https://e', HttpApiUrl: 'h' } }), 'S'),
    ).toThrow('EdgeUrl is not a wss:// URL');
  });

  it('a stack without Kafka has no cluster: its Kafka scenarios are "not reachable", with the reason', async () => {
    const parsed = parseStackOutputs(
      JSON.stringify({ S: { EdgeUrl: 'wss://e.example', HttpApiUrl: 'https://h.example' } }),
      'S',
    );
    expect(parsed.kafkaClusterArn).toBeUndefined();
    const target = awsTarget(parsed, {} as ManagementClient, new Map());
    expect(target.edgeUrl).toBe('wss://e.example');
    expect(target.patience).toBeGreaterThan(1);
    await expect(target.kafka()).rejects.toThrow(NotReachable);
    await expect(target.kafka()).rejects.toThrow('the stack has no Kafka cluster');
    await expect(target.token('nobody.example', '')).rejects.toThrow(
      'the run has no application in tenant nobody.example',
    );
  });

  it('creates the run’s application in every tenant, subscribed to each API with the plan the local DefaultApplication gets; a refused subscription is reported, not fatal', async () => {
    const calls: [string, string, unknown][] = [];
    const management = {
      async admin(method: string, route: string, body?: unknown) {
        calls.push([method, route, body]);
        if (route.endsWith('/applications'))
          return { keys: { PRODUCTION: { clientId: `id-${route.split('/')[2]}`, clientSecret: 's' } } };
        if ((body as { name: string }).name === 'SweetProdApp')
          throw new Error('404 not_found: no API SweetProdApp 1.0.0');
        return {};
      },
      async token(clientId: string, _secret: string, scope: string) {
        return { access_token: `${clientId}:${scope}` };
      },
    } as unknown as ManagementClient;
    const apis = [
      { tenant: 'carbon.super', name: 'Chats', version: '1.0.0', plans: ['AsyncGold', 'AsyncUnlimited'] },
      { tenant: 'carbon.super', name: 'SweetProdApp', version: '1.0.0', plans: ['AsyncGold'] },
      {
        tenant: 'quantis.com',
        name: 'TrainRealLocationAPI',
        version: '1.0.0',
        plans: ['AsyncGold', 'AsyncSilver'],
      },
    ] as ApiDef[];
    const { keys, refused } = await provisionApplications(management, apis, 'streamgate-parity-1');
    expect(refused).toEqual(['carbon.super/SweetProdApp/1.0.0: 404 not_found: no API SweetProdApp 1.0.0']);
    expect(calls).toEqual([
      ['POST', '/tenants/carbon.super/applications', { name: 'streamgate-parity-1' }],
      [
        'POST',
        '/tenants/carbon.super/applications/streamgate-parity-1/subscriptions',
        { name: 'Chats', version: '1.0.0', plan: 'AsyncUnlimited' },
      ],
      [
        'POST',
        '/tenants/carbon.super/applications/streamgate-parity-1/subscriptions',
        { name: 'SweetProdApp', version: '1.0.0', plan: 'AsyncGold' },
      ],
      ['POST', '/tenants/quantis.com/applications', { name: 'streamgate-parity-1' }],
      [
        'POST',
        '/tenants/quantis.com/applications/streamgate-parity-1/subscriptions',
        { name: 'TrainRealLocationAPI', version: '1.0.0', plan: 'AsyncGold' },
      ],
    ]);
    const target = awsTarget({ edgeUrl: 'wss://e', httpApiUrl: 'https://h' }, management, keys);
    expect(await target.token('quantis.com', 'a b')).toBe('id-quantis.com:a b');
    expect(planFor({ plans: ['AsyncBronze'] })).toBe('AsyncBronze');
  });
});

describe('the result table', () => {
  const results: ScenarioResult[] = [
    { name: 'echo', seed: '003', status: 'passed', ms: 1234 },
    {
      name: 'train: routed by record key',
      seed: '002',
      status: 'not reachable',
      ms: 10_000,
      detail: 'MSK in its VPC',
    },
    { name: 'chat', seed: '001', status: 'failed', ms: 50, detail: 'no matching message' },
  ];

  it('has a row per scenario with its result, time and detail, and a summary', () => {
    expect(resultTable(results).split('\n')).toEqual([
      'seed  scenario                     result         time    detail',
      '----  ---------------------------  -------------  ------  -------------------',
      '003   echo                         passed         1.2 s',
      '002   train: routed by record key  not reachable  10.0 s  MSK in its VPC',
      '001   chat                         failed         0.1 s   no matching message',
      '',
      '1 passed, 1 not reachable, 1 failed',
    ]);
  });

  it('fails the run on a failure or a scenario not run, not on "not reachable"', () => {
    expect(exitCode(results)).toBe(1);
    expect(exitCode(results.filter((r) => r.status !== 'failed'))).toBe(0);
    expect(exitCode([{ name: 'x', seed: '0', status: 'not run', ms: 0 }])).toBe(1);
    expect(exitCode([])).toBe(1);
  });

  it('covers every seed: chat, echo, train and sweet count, Kafka ones marked', () => {
    expect(new Set(SEED_SCENARIOS.map((s) => s.seed))).toEqual(new Set(['000', '001', '002', '003']));
    expect(SEED_SCENARIOS.filter((s) => s.kafka).map((s) => s.seed)).toEqual(['002', '000']);
  });
});

describe('a machine that cannot run it', () => {
  it('is told what is missing, what the run needs and what it costs', () => {
    const text = cannotRunMessage({ credentials: 'Could not load credentials from any providers' }, 0.83);
    expect(text).toContain('✗ AWS credentials: Could not load credentials from any providers');
    expect(text).toContain('✓ AWS region');
    for (const need of [
      'AWS_ACCESS_KEY_ID',
      'AWS_REGION',
      'npx cdk bootstrap',
      'not reachable',
      '$0.83 per hour',
      'destroyed',
    ]) {
      expect(text).toContain(need);
    }
  });

  it('prices an hour of the stack from the MSK Serverless and endpoint rates', () => {
    expect(
      hourlyCostUsd(
        { clusterHourUsd: 0.75, partitionHourUsd: 0.0015 },
        { partitions: 2, endpoints: 4, azs: 2 },
      ),
    ).toBeCloseTo(0.75 + 0.003 + 0.08, 6);
  });

  /** `npm run test:aws` with nothing of the caller's AWS set-up: no AWS_* variables, an empty home, no instance metadata. */
  async function runWithout(extraEnv: Record<string, string> = {}) {
    const home = mkdtempSync(path.join(tmpdir(), 'parity-home-'));
    const startedAt = Date.now();
    const result = await run('npm', ['run', '--silent', 'test:aws'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        AWS_EC2_METADATA_DISABLED: 'true',
        npm_config_update_notifier: 'false',
        ...extraEnv,
      },
      timeout: 40_000,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    return { ...result, ms: Date.now() - startedAt };
  }

  it('`npm run test:aws` with no credentials and no region says so and exits 1 within seconds', async () => {
    const result = await runWithout();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('✗ AWS credentials');
    expect(result.stderr).toContain('✗ AWS region');
    expect(result.stderr).toContain('npx cdk bootstrap');
    expect(result.stderr).toMatch(/about \$\d+\.\d\d per hour/);
    expect(result.ms).toBeLessThan(20_000);
  }, 30_000);

  it('with credentials STS does not accept (or cannot be reached), it names that and deploys nothing', async () => {
    const result = await runWithout({
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'not-a-secret',
      AWS_REGION: 'eu-west-1',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('✓ AWS credentials');
    expect(result.stderr).toContain('✗ STS GetCallerIdentity:');
    expect(result.stdout).not.toContain('deploying');
  }, 40_000);
});
