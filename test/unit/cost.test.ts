import { describe, expect, it } from 'vitest';
import {
  costPerMillion,
  formatDollars,
  gbSeconds,
  loadPrices,
  MESSAGE_UNIT_BYTES,
  messageUnits,
  type Usage,
} from '../../bench/lib/cost.ts';

const prices = loadPrices();

describe('prices.json', () => {
  it('holds us-east-1 list prices in USD', () => {
    expect(prices.currency).toBe('USD');
    expect(prices.region).toBe('us-east-1');
    expect(prices.apiGateway.websocketMessages.usdPerMillion).toBe(1);
    expect(prices.apiGateway.websocketMessages.meteredUnitBytes).toBe(MESSAGE_UNIT_BYTES);
    expect(prices.apiGateway.connectionMinutes.usdPerMillion).toBe(0.25);
    expect(prices.lambda.requests.usdPerMillion).toBe(0.2);
    expect(prices.lambda.durationArm64.usdPerGbSecond).toBe(0.0000133334);
    expect(prices.lambda.durationX86.usdPerGbSecond).toBe(0.0000166667);
    expect(prices.dynamodb.writeRequestUnits.usdPerMillion).toBe(0.625);
    expect(prices.dynamodb.readRequestUnits.usdPerMillion).toBe(0.125);
    expect(prices.msk.lambdaEventSourceMappingOnDemand.usdPerEvent).toBe(0);
    expect(prices.msk.serverless.perEvent).toBe(false);
  });

  it('gives every price a source URL and the date it was checked', () => {
    const entries = [
      ...Object.values(prices.apiGateway),
      ...Object.values(prices.lambda),
      ...Object.values(prices.dynamodb),
      ...Object.values(prices.msk),
    ];
    expect(entries).toHaveLength(9);
    for (const entry of entries) {
      expect(entry.source).toMatch(/^https:\/\/\S+$/);
      expect(entry.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });
});

describe('messageUnits', () => {
  it('counts 32 KB units, at least one', () => {
    expect(messageUnits(0)).toBe(1);
    expect(messageUnits(1)).toBe(1);
    expect(messageUnits(32768)).toBe(1);
    expect(messageUnits(32769)).toBe(2);
    expect(messageUnits(33 * 1024)).toBe(2);
    expect(messageUnits(128 * 1024)).toBe(4);
  });

  it('rejects sizes that are not sizes', () => {
    expect(() => messageUnits(-1)).toThrow(RangeError);
    expect(() => messageUnits(Number.NaN)).toThrow(RangeError);
  });
});

describe('gbSeconds', () => {
  it('multiplies billed seconds by memory in GB of 1024 MB', () => {
    expect(gbSeconds(1000, 1024)).toBe(1);
    expect(gbSeconds(50, 1024)).toBeCloseTo(0.05, 12);
    expect(gbSeconds(300, 512)).toBeCloseTo(0.15, 12);
  });
});

describe('costPerMillion', () => {
  // 1,000,000 deliveries: one message each, 1 Lambda request of 50 ms at 1024 MB per 100 deliveries,
  // 1 WRU per 1,000 deliveries, 1,000 connections open for an hour.
  const usage: Usage = {
    deliveredEvents: 1_000_000,
    apiGatewayMessages: 1_000_000,
    connectionMinutes: 60_000,
    lambdaRequests: 10_000,
    lambdaGbSeconds: 10_000 * gbSeconds(50, 1024),
    dynamoReadUnits: 0,
    dynamoWriteUnits: 1_000,
  };

  it('prices each service by hand-computed amounts', () => {
    const cost = costPerMillion(usage, prices);
    expect(cost.byService.apiGatewayMessages).toBeCloseTo(1, 12); // 1e6 × $1/1e6
    expect(cost.byService.connectionMinutes).toBeCloseTo(0.015, 12); // 60,000 × $0.25/1e6
    expect(cost.byService.lambdaRequests).toBeCloseTo(0.002, 12); // 10,000 × $0.20/1e6
    expect(cost.byService.lambdaDuration).toBeCloseTo(0.0066667, 12); // 500 GB-s × $0.0000133334
    expect(cost.byService.dynamoReads).toBe(0);
    expect(cost.byService.dynamoWrites).toBeCloseTo(0.000625, 12); // 1,000 × $0.625/1e6
    expect(cost.total).toBeCloseTo(1.0242917, 12);
  });

  it('scales usage to one million deliveries', () => {
    const halved = Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, v / 2])) as unknown as Usage;
    const cost = costPerMillion(halved, prices);
    expect(cost.total).toBeCloseTo(1.0242917, 12);
    const tenfold = costPerMillion({ ...usage, deliveredEvents: 10_000_000 }, prices);
    expect(tenfold.total).toBeCloseTo(0.10242917, 12);
  });

  it('uses the x86 duration rate when asked', () => {
    const cost = costPerMillion(usage, prices, 'x86_64');
    expect(cost.byService.lambdaDuration).toBeCloseTo(500 * 0.0000166667, 12);
  });

  it('is NaN when nothing was delivered', () => {
    const cost = costPerMillion({ ...usage, deliveredEvents: 0 }, prices);
    expect(cost.total).toBeNaN();
    for (const value of Object.values(cost.byService)) expect(value).toBeNaN();
  });
});

describe('formatDollars', () => {
  it('shows cents above a dollar and two significant digits below', () => {
    expect(formatDollars(1.234)).toBe('$1.23');
    expect(formatDollars(1234.5)).toBe('$1,234.50');
    expect(formatDollars(0.42)).toBe('$0.42');
    expect(formatDollars(0.5)).toBe('$0.50');
    expect(formatDollars(0.0042)).toBe('$0.0042');
    expect(formatDollars(0.000625)).toBe('$0.00063');
    expect(formatDollars(0)).toBe('$0.00');
    expect(formatDollars(-2)).toBe('-$2.00');
    expect(formatDollars(Number.NaN)).toBe('n/a');
  });
});
