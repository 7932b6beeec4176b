/**
 * The pure parts of the AWS parity run (`npm run test:aws`, scripts/test-aws.ts): the stack's name,
 * the CDK command lines, which CDK output lines are progress, the result table, the run's cost and
 * the message for a machine that cannot run it. No I/O here; the runner does it.
 */
import { randomBytes } from 'node:crypto';

/**
 * CDK context that turns Kafka ingestion on for the parity stack (MSK Serverless), so the Kafka seed
 * scenarios have a cluster. The one place that names the setting (lib/config.ts `kafka.cluster`).
 */
export const KAFKA_ON_CONTEXT: Readonly<Record<string, string>> = { 'kafka.cluster': 'serverless' };

/** The prefix of every parity stack's name (and of the resources CloudFormation names after it). */
export const PARITY_STACK_PREFIX = 'Streamgate-parity-';

/**
 * A fresh stack name, `Streamgate-parity-<8 hex>`: unique per run, so a run never touches another
 * run's or a user's stack. CloudFormation stack names are `[A-Za-z][A-Za-z0-9-]*`, at most 128
 * characters (AWS::CloudFormation "CreateStack", StackName).
 */
export function parityStackName(random: () => Buffer = () => randomBytes(4)): string {
  return `${PARITY_STACK_PREFIX}${random().toString('hex')}`;
}

/** `-c key=value` pairs for the CDK CLI. */
function contextArgs(context: Record<string, string>): string[] {
  return Object.entries(context).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
}

/**
 * Arguments of `npx cdk …` for the run: deploy writes the stack outputs to `outputsFile` and asks
 * no questions; destroy asks none either. Both name the stack through the app's `stackName` context.
 */
export function cdkArgs(step: 'deploy' | 'destroy', stackName: string, outputsFile: string): string[] {
  const context = contextArgs({ stackName, ...KAFKA_ON_CONTEXT });
  return step === 'deploy'
    ? ['cdk', 'deploy', stackName, ...context, '--require-approval', 'never', '--outputs-file', outputsFile]
    : ['cdk', 'destroy', stackName, ...context, '--force'];
}

/**
 * The lines of CDK's deploy/destroy output worth a progress line: resource events that end a step
 * (`CREATE_COMPLETE`, `DELETE_COMPLETE`, any `_FAILED`), CDK's own status marks and errors; the
 * rest stays in the run's log file. Returns the line trimmed, or undefined.
 */
export function progressLine(line: string): string | undefined {
  const text = line.trim();
  if (!text) return undefined;
  if (/\b[A-Z_]+_(COMPLETE|FAILED)\b/.test(text) && !/_CLEANUP_/.test(text)) return text;
  if (/^(✅|❌|✨|⚠️)|\b(Error|error:|failed)\b/.test(text)) return text;
  return undefined;
}

/** How one scenario went. `not reachable` is a scenario whose target (Kafka) cannot be reached from here. */
export interface ScenarioResult {
  name: string;
  seed: string;
  status: 'passed' | 'failed' | 'not reachable' | 'not run';
  /** Milliseconds. */
  ms: number;
  /** The failure or the reason it could not run. */
  detail?: string;
}

/** The result table, one row per scenario, then a one-line summary. */
export function resultTable(results: readonly ScenarioResult[]): string {
  const rows = results.map((r) => [
    r.seed,
    r.name,
    r.status,
    `${(r.ms / 1000).toFixed(1)} s`,
    r.detail ?? '',
  ]);
  const header = ['seed', 'scenario', 'result', 'time', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const summary = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    summary || 'no scenarios',
  ].join('\n');
}

/** The run's exit code: 1 when a scenario failed or none ran, else 0 ("not reachable" is reported, not failed). */
export function exitCode(results: readonly ScenarioResult[]): number {
  return results.some((r) => r.status === 'failed' || r.status === 'not run') || results.length === 0 ? 1 : 0;
}

/** The list prices the run's estimate uses (bench/prices.json's `msk.serverless`, plus endpoints). */
export interface RunPrices {
  clusterHourUsd: number;
  partitionHourUsd: number;
}

/**
 * An interface VPC endpoint per AZ-hour, us-east-1 (AWS PrivateLink pricing,
 * https://aws.amazon.com/privatelink/pricing/: $0.01 per VPC endpoint per AZ per hour).
 */
export const INTERFACE_ENDPOINT_AZ_HOUR_USD = 0.01;

/**
 * What the parity stack costs while it exists (USD per hour): the MSK Serverless cluster-hour, its
 * partition-hours (`partitions` over the seed topics) and the interface endpoints (`endpoints` × `azs`).
 * Requests (Lambda, API Gateway, DynamoDB, CloudFront) for a few hundred messages are a fraction of a
 * cent and left out.
 */
export function hourlyCostUsd(
  prices: RunPrices,
  shape: { partitions: number; endpoints: number; azs: number },
): number {
  return (
    prices.clusterHourUsd +
    shape.partitions * prices.partitionHourUsd +
    shape.endpoints * shape.azs * INTERFACE_ENDPOINT_AZ_HOUR_USD
  );
}

/** What a run needs and the machine lacks: `credentials` / `region` carry the reason, when missing. */
export interface Preflight {
  credentials?: string;
  region?: string;
  identity?: string;
}

/**
 * The message for a machine that cannot run the parity check: what is missing, then everything the
 * run needs (credentials, region, CDK bootstrap, network path to MSK, cost, time).
 */
export function cannotRunMessage(missing: Preflight, costPerHourUsd: number): string {
  const found = [
    missing.credentials ? `  ✗ AWS credentials: ${missing.credentials}` : '  ✓ AWS credentials',
    missing.region ? `  ✗ AWS region: ${missing.region}` : '  ✓ AWS region',
    ...(missing.identity ? [`  ✗ STS GetCallerIdentity: ${missing.identity}`] : []),
  ];
  return [
    'npm run test:aws deploys a throwaway streamgate stack (Kafka on: MSK Serverless) to your AWS account,',
    'runs the seed scenarios (chat, echo, wscat, train, sweet count) against its wss and MSK endpoints and',
    'destroys it. It cannot start here:',
    ...found,
    '',
    'It needs:',
    '  1. AWS credentials in the default provider chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    '     (and AWS_SESSION_TOKEN), or AWS_PROFILE with ~/.aws/credentials or SSO (`aws sso login`), or an',
    '     instance/container role. They must be allowed to deploy with the CDK (the bootstrap roles), to',
    '     call the management API (execute-api:Invoke) and, for the Kafka scenarios, kafka:GetBootstrapBrokers',
    '     and kafka-cluster:Connect, DescribeTopic, WriteData on the stack’s cluster.',
    '  2. A region: AWS_REGION (or AWS_DEFAULT_REGION, or `region` in your profile).',
    '  3. The account and region bootstrapped for the CDK, once: npx cdk bootstrap aws://<account>/<region>',
    '  4. For the Kafka scenarios (train, sweet count): a network path to the MSK Serverless brokers, which',
    '     answer only inside the stack’s VPC or a client VPC (run from an EC2 instance or Cloud9 there);',
    '     elsewhere those scenarios are reported "not reachable".',
    `  5. Money and time: about $${costPerHourUsd.toFixed(2)} per hour while the stack exists (MSK Serverless`,
    '     cluster and partitions, interface endpoints; requests are fractions of a cent); a run takes',
    '     30–60 minutes, most of it creating and deleting the MSK cluster and the CloudFront distribution.',
    '     The stack is destroyed at the end, also when a scenario fails or on Ctrl-C.',
  ].join('\n');
}
