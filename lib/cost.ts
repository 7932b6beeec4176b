/**
 * What a synthesized template costs per month while idle: no connection, no message, no event.
 * Only resources billed by the hour or the month count (prices and sources in idle-prices.json,
 * us-east-1); everything billed per request, per GB or per second of use (Lambda, API Gateway,
 * DynamoDB on demand, SQS, CloudFront, CloudWatch Logs, on-demand event source mappings) is $0.
 * Resources with an idle charge this module does not price are named, never silently counted as $0.
 */
import { readFileSync } from 'node:fs';

interface Price {
  usd: number;
  source: string;
  checked: string;
}

/** The idle prices (lib/idle-prices.json). */
export interface IdlePrices {
  currency: string;
  region: string;
  hoursPerMonth: number;
  mskServerlessClusterHour: Price;
  mskServerlessPartitionHour: Price;
  interfaceEndpointAzHour: Price;
  natGatewayHour: Price;
  publicIpv4Hour: Price;
  secretMonth: Price;
  kmsKeyMonth: Price;
  alarmMonth: Price;
  dashboardMonth: Price;
}

/** Reads lib/idle-prices.json; a missing or non-numeric price fails here, not as NaN in the report. */
export function loadIdlePrices(file = new URL('./idle-prices.json', import.meta.url)): IdlePrices {
  const prices = JSON.parse(readFileSync(file, 'utf8')) as IdlePrices;
  for (const [name, value] of Object.entries(prices)) {
    if (typeof value === 'object' && value !== null && typeof (value as Price).usd !== 'number')
      throw new Error(`idle-prices.json: ${name} has no numeric usd`);
  }
  return prices;
}

/** One billed item of the idle cost. */
export interface IdleCostLine {
  /** What is billed, e.g. `MSK Serverless cluster`. */
  item: string;
  /** How it adds up, e.g. `3 endpoints × 2 AZ × 730 h × $0.01`. */
  detail: string;
  usdPerMonth: number;
}

export interface IdleCost {
  usdPerMonth: number;
  /** Most expensive first. */
  lines: IdleCostLine[];
  /** Resources with an idle charge that is not priced here (provisioned capacity, broker hours…). */
  unpriced: string[];
}

type PriceKey = { [K in keyof IdlePrices]: IdlePrices[K] extends Price ? K : never }[keyof IdlePrices];

/** Resources billed by the count: type, what the line says, unit, price, whether per hour (else per month). */
const COUNTED: [string, string, string, PriceKey, boolean][] = [
  ['AWS::EC2::NatGateway', 'NAT gateways', 'gateways', 'natGatewayHour', true],
  ['AWS::EC2::EIP', 'public IPv4 addresses', 'addresses', 'publicIpv4Hour', true],
  ['AWS::SecretsManager::Secret', 'Secrets Manager secrets', 'secrets', 'secretMonth', false],
  ['AWS::KMS::Key', 'KMS customer managed keys', 'keys', 'kmsKeyMonth', false],
  ['AWS::CloudWatch::Alarm', 'CloudWatch alarms', 'alarms', 'alarmMonth', false],
  ['AWS::CloudWatch::Dashboard', 'CloudWatch dashboards', 'dashboards', 'dashboardMonth', false],
];

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

/**
 * The idle monthly cost of a CloudFormation template (`{ Resources }`), in USD at `prices`.
 * MSK Serverless partitions: the topics the template creates with a partition count (any resource
 * property `Topics: [{ NumPartitions | Partitions }]`); failing that, one per topic an event source
 * mapping reads — a floor.
 */
export function idleMonthlyCost(
  template: { Resources?: Record<string, unknown> },
  prices: IdlePrices,
): IdleCost {
  const resources = Object.entries(template.Resources ?? {}) as [string, TemplateResource][];
  const hours = prices.hoursPerMonth;
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const lines: IdleCostLine[] = [];
  const unpriced: string[] = [];
  const add = (item: string, count: number, unit: string, price: Price, perHour: boolean) => {
    if (count <= 0) return;
    const usd = count * price.usd * (perHour ? hours : 1);
    const time = perHour ? ` × ${hours} h` : '';
    lines.push({ item, detail: `${count} ${unit}${time} × $${price.usd}`, usdPerMonth: usd });
  };

  const clusters = ofType('AWS::MSK::ServerlessCluster').length;
  add('MSK Serverless cluster', clusters, 'cluster', prices.mskServerlessClusterHour, true);
  if (clusters > 0)
    add(
      'MSK Serverless partitions',
      partitionsOf(resources),
      'partitions',
      prices.mskServerlessPartitionHour,
      true,
    );
  for (const [id] of ofType('AWS::MSK::Cluster'))
    unpriced.push(`${id}: MSK provisioned brokers (per broker-hour)`);

  const endpointAzs = ofType('AWS::EC2::VPCEndpoint')
    .filter(([, r]) => r.Properties?.VpcEndpointType === 'Interface')
    .map(([, r]) => (Array.isArray(r.Properties?.SubnetIds) ? r.Properties.SubnetIds.length : 1));
  add(
    `interface VPC endpoints (${endpointAzs.length})`,
    endpointAzs.reduce((a, b) => a + b, 0),
    'endpoint-AZs',
    prices.interfaceEndpointAzHour,
    true,
  );
  for (const [type, item, unit, price, perHour] of COUNTED)
    add(item, ofType(type).length, unit, prices[price], perHour);

  for (const [id, r] of ofType('AWS::Lambda::EventSourceMapping'))
    if (r.Properties?.ProvisionedPollerConfig)
      unpriced.push(`${id}: event source mapping in provisioned mode (per poller-hour)`);
  for (const [id, r] of ofType('AWS::DynamoDB::Table'))
    if (r.Properties?.BillingMode !== 'PAY_PER_REQUEST')
      unpriced.push(`${id}: DynamoDB provisioned capacity`);
  for (const [id, r] of [...ofType('AWS::Lambda::Alias'), ...ofType('AWS::Lambda::Version')])
    if (r.Properties?.ProvisionedConcurrencyConfig) unpriced.push(`${id}: Lambda provisioned concurrency`);

  lines.sort((a, b) => b.usdPerMonth - a.usdPerMonth);
  return { usdPerMonth: lines.reduce((sum, l) => sum + l.usdPerMonth, 0), lines, unpriced };
}

function partitionsOf(resources: [string, TemplateResource][]): number {
  const declared = resources.flatMap(([, r]) =>
    Array.isArray(r.Properties?.Topics)
      ? (r.Properties.Topics as unknown[]).map((t) => {
          // Custom::KafkaTopics: topic names with one `Partitions` for all; else per-topic objects.
          if (typeof t === 'string') return Number(r.Properties?.Partitions ?? Number.NaN);
          const topic = (t ?? {}) as Record<string, unknown>;
          return Number(topic.NumPartitions ?? topic.Partitions ?? topic.numPartitions ?? Number.NaN);
        })
      : [],
  );
  const counted = declared.filter((n) => Number.isInteger(n) && n > 0);
  if (counted.length) return counted.reduce((a, b) => a + b, 0);
  const read = new Set(
    resources
      .filter(([, r]) => r.Type === 'AWS::Lambda::EventSourceMapping' && Array.isArray(r.Properties?.Topics))
      .flatMap(([, r]) => r.Properties?.Topics as string[]),
  );
  return read.size;
}

/** A short table for the terminal: the total first, then each line, then what is not priced. */
export function formatIdleCost(cost: IdleCost, prices: IdlePrices): string {
  const dollars = (usd: number) => `$${usd.toFixed(2)}`;
  const width = Math.max(...cost.lines.map((l) => dollars(l.usdPerMonth).length), 5);
  const out = [
    `Idle cost of this deploy: ${dollars(cost.usdPerMonth)} a month (${prices.region} list prices, lib/idle-prices.json; use is billed on top)`,
    ...cost.lines.map((l) => `  ${dollars(l.usdPerMonth).padStart(width)}  ${l.item}: ${l.detail}`),
    `  ${'$0'.padStart(width)}  pay per use: Lambda, API Gateway, DynamoDB on demand, SQS, CloudFront, logs`,
    ...cost.unpriced.map((u) => `  ${'?'.padStart(width)}  not priced: ${u}`),
  ];
  return out.join('\n');
}
