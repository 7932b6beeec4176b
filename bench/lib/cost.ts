/**
 * Cost model for benchmark results: dollars per million delivered events, from measured usage and the
 * list prices in bench/prices.json (kept in one file so that each number carries its source).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Usage measured over one benchmark run. */
export interface Usage {
  deliveredEvents: number;
  /** Already in 32 KB metering units (see messageUnits). */
  apiGatewayMessages: number;
  connectionMinutes: number;
  lambdaRequests: number;
  lambdaGbSeconds: number;
  dynamoReadUnits: number;
  dynamoWriteUnits: number;
}

interface Sourced {
  source: string;
  /** ISO date the price was compared with its source. */
  checked: string;
  evidence?: string;
  tier?: string;
}

type PerMillion = Sourced & { usdPerMillion: number };

export interface Prices {
  currency: 'USD';
  region: string;
  apiGateway: {
    websocketMessages: PerMillion & { meteredUnitBytes: number };
    connectionMinutes: PerMillion;
  };
  lambda: {
    requests: PerMillion;
    durationArm64: Sourced & { usdPerGbSecond: number };
    durationX86: Sourced & { usdPerGbSecond: number };
  };
  dynamodb: {
    writeRequestUnits: PerMillion;
    readRequestUnits: PerMillion;
  };
  msk: {
    /** The on-demand Kafka event source mapping costs nothing beyond the Lambda it invokes. */
    lambdaEventSourceMappingOnDemand: Sourced & { usdPerEvent: number };
    /** Cluster costs shared by all events: reported in docs, not counted per event. */
    serverless: Sourced & {
      perEvent: false;
      clusterHourUsd: number;
      partitionHourUsd: number;
      dataInUsdPerGb: number;
      dataOutUsdPerGb: number;
      storageUsdPerGbMonth: number;
    };
  };
}

export interface CostPerMillion {
  total: number;
  byService: {
    apiGatewayMessages: number;
    connectionMinutes: number;
    lambdaRequests: number;
    lambdaDuration: number;
    dynamoReads: number;
    dynamoWrites: number;
  };
}

/** API Gateway meters WebSocket messages in 32 KB (32 × 1024 bytes) units. */
export const MESSAGE_UNIT_BYTES = 32 * 1024;

const PRICE_FIELDS = [
  'apiGateway.websocketMessages.usdPerMillion',
  'apiGateway.websocketMessages.meteredUnitBytes',
  'apiGateway.connectionMinutes.usdPerMillion',
  'lambda.requests.usdPerMillion',
  'lambda.durationArm64.usdPerGbSecond',
  'lambda.durationX86.usdPerGbSecond',
  'dynamodb.writeRequestUnits.usdPerMillion',
  'dynamodb.readRequestUnits.usdPerMillion',
  'msk.lambdaEventSourceMappingOnDemand.usdPerEvent',
  'msk.serverless.clusterHourUsd',
  'msk.serverless.partitionHourUsd',
  'msk.serverless.dataInUsdPerGb',
  'msk.serverless.dataOutUsdPerGb',
  'msk.serverless.storageUsdPerGbMonth',
];

/** Reads bench/prices.json; a missing or non-numeric price fails here rather than as NaN in a report. */
export function loadPrices(file = join(import.meta.dirname, '..', 'prices.json')): Prices {
  const prices = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  for (const path of PRICE_FIELDS) {
    const value = path
      .split('.')
      .reduce<unknown>(
        (node, key) =>
          node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined,
        prices,
      );
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new Error(`${file}: ${path} must be a non-negative number, got ${JSON.stringify(value)}`);
    }
  }
  return prices as Prices;
}

/** Billed WebSocket messages for one message of `bytes`: 32 KB units, at least one (33 KB → 2). */
export function messageUnits(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes < 0)
    throw new RangeError(`message size must be ≥ 0 bytes, got ${bytes}`);
  return Math.max(1, Math.ceil(bytes / MESSAGE_UNIT_BYTES));
}

/** Lambda GB-seconds: memory in GB (1024 MB, as AWS bills it) times billed seconds. */
export function gbSeconds(billedMs: number, memoryMb: number): number {
  return (billedMs / 1000) * (memoryMb / 1024);
}

/**
 * Dollars per one million delivered events: usage scaled by 1e6 / deliveredEvents, priced at list
 * prices. Lambda duration uses the arm64 rate unless told otherwise (the stack deploys arm64).
 * NaN throughout when nothing was delivered, since there is nothing to divide by.
 */
export function costPerMillion(
  usage: Usage,
  prices: Prices,
  architecture: 'arm64' | 'x86_64' = 'arm64',
): CostPerMillion {
  const scale = usage.deliveredEvents > 0 ? 1e6 / usage.deliveredEvents : Number.NaN;
  const perMillion = (count: number, usdPerMillion: number) => ((count * scale) / 1e6) * usdPerMillion;
  const duration = architecture === 'arm64' ? prices.lambda.durationArm64 : prices.lambda.durationX86;
  const byService = {
    apiGatewayMessages: perMillion(
      usage.apiGatewayMessages,
      prices.apiGateway.websocketMessages.usdPerMillion,
    ),
    connectionMinutes: perMillion(usage.connectionMinutes, prices.apiGateway.connectionMinutes.usdPerMillion),
    lambdaRequests: perMillion(usage.lambdaRequests, prices.lambda.requests.usdPerMillion),
    lambdaDuration: usage.lambdaGbSeconds * scale * duration.usdPerGbSecond,
    dynamoReads: perMillion(usage.dynamoReadUnits, prices.dynamodb.readRequestUnits.usdPerMillion),
    dynamoWrites: perMillion(usage.dynamoWriteUnits, prices.dynamodb.writeRequestUnits.usdPerMillion),
  };
  const total = Object.values(byService).reduce((sum, v) => sum + v, 0);
  return { total, byService };
}

/** "$1.23", "$1,234.50", "$0.0042": cents for a dollar or more, else two significant digits. */
export function formatDollars(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  if (abs === 0) return '$0.00';
  const decimals = abs >= 0.995 ? 2 : Math.max(2, 1 - Math.floor(Math.log10(abs)));
  const text = abs.toLocaleString('en-US', {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
  return `${sign}$${text}`;
}
