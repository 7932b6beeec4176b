import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatIdleCost, idleMonthlyCost, loadIdlePrices } from '../../lib/cost.ts';

const prices = loadIdlePrices();
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/cost/${name}.template.json`, import.meta.url), 'utf8')) as {
    Resources: Record<string, unknown>;
  };

describe('idle-prices.json', () => {
  it('holds us-east-1 list prices in USD, each with its source page and the date it was checked', () => {
    expect(prices).toMatchObject({ currency: 'USD', region: 'us-east-1', hoursPerMonth: 730 });
    expect(prices.mskServerlessClusterHour.usd).toBe(0.75);
    expect(prices.interfaceEndpointAzHour.usd).toBe(0.01);
    for (const [name, value] of Object.entries(prices)) {
      if (typeof value !== 'object') continue;
      expect(value.source, name).toMatch(/^https:\/\/aws\.amazon\.com\//);
      expect(value.checked, name).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });
});

describe('the idle monthly cost of a template', () => {
  it('with an MSK Serverless cluster: cluster-hours, a partition per topic read, endpoints per AZ, secrets', () => {
    const cost = idleMonthlyCost(fixture('with-msk'), prices);
    expect(cost.lines.map((l) => [l.item, Number(l.usdPerMonth.toFixed(2))])).toEqual([
      ['MSK Serverless cluster', 547.5],
      ['interface VPC endpoints (3)', 43.8],
      ['MSK Serverless partitions', 3.29],
      ['Secrets Manager secrets', 0.8],
    ]);
    expect(cost.usdPerMonth).toBeCloseTo(595.38, 2);
    expect(cost.unpriced).toEqual([]);
  });

  it('without Kafka: the secrets only; Lambda, API Gateway, on-demand tables, SQS, CloudFront and logs cost nothing idle', () => {
    const cost = idleMonthlyCost(fixture('without-kafka'), prices);
    expect(cost.usdPerMonth).toBeCloseTo(0.8, 2);
    expect(cost.lines.map((l) => l.item)).toEqual(['Secrets Manager secrets']);
  });

  it('counts the partitions the template declares for its topics over the topics it reads', () => {
    const template = fixture('with-msk');
    template.Resources.Topics = {
      Type: 'Custom::KafkaTopics',
      Properties: {
        Topics: [
          { Name: 'chat', NumPartitions: 6 },
          { Name: 'trains', Partitions: 4 },
        ],
      },
    };
    const partitions = idleMonthlyCost(template, prices).lines.find(
      (l) => l.item === 'MSK Serverless partitions',
    );
    expect(partitions?.detail).toBe('10 partitions × 730 h × $0.0015');
  });

  it('counts the partitions of the stack’s own topic resource: every topic named × its Partitions', () => {
    const template = fixture('with-msk');
    template.Resources.Topics = {
      Type: 'Custom::KafkaTopics',
      Properties: { ClusterArn: 'arn', Topics: ['chat', 'trains', 'sweets'], Partitions: 3 },
    };
    const partitions = idleMonthlyCost(template, prices).lines.find(
      (l) => l.item === 'MSK Serverless partitions',
    );
    expect(partitions?.detail).toBe('9 partitions × 730 h × $0.0015');
  });

  it('prices NAT gateways, public IPv4 addresses, KMS keys, alarms and dashboards', () => {
    const cost = idleMonthlyCost(
      {
        Resources: {
          Nat: { Type: 'AWS::EC2::NatGateway' },
          Ip: { Type: 'AWS::EC2::EIP' },
          Key: { Type: 'AWS::KMS::Key' },
          Alarm1: { Type: 'AWS::CloudWatch::Alarm' },
          Alarm2: { Type: 'AWS::CloudWatch::Alarm' },
          Board: { Type: 'AWS::CloudWatch::Dashboard' },
        },
      },
      prices,
    );
    expect(Object.fromEntries(cost.lines.map((l) => [l.item, Number(l.usdPerMonth.toFixed(2))]))).toEqual({
      'NAT gateways': 32.85,
      'public IPv4 addresses': 3.65,
      'KMS customer managed keys': 1,
      'CloudWatch alarms': 0.2,
      'CloudWatch dashboards': 3,
    });
  });

  it('names idle charges it does not price instead of counting them as $0', () => {
    const cost = idleMonthlyCost(
      {
        Resources: {
          Brokers: { Type: 'AWS::MSK::Cluster' },
          Mapping: {
            Type: 'AWS::Lambda::EventSourceMapping',
            Properties: { ProvisionedPollerConfig: { MinimumPollers: 1 } },
          },
          Table: { Type: 'AWS::DynamoDB::Table', Properties: { BillingMode: 'PROVISIONED' } },
        },
      },
      prices,
    );
    expect(cost.usdPerMonth).toBe(0);
    expect(cost.unpriced).toEqual([
      'Brokers: MSK provisioned brokers (per broker-hour)',
      'Mapping: event source mapping in provisioned mode (per poller-hour)',
      'Table: DynamoDB provisioned capacity',
    ]);
  });

  it('prints one short table, the total first', () => {
    const text = formatIdleCost(idleMonthlyCost(fixture('with-msk'), prices), prices);
    const [first, second] = text.split('\n');
    expect(first).toMatch(/^Idle cost of this deploy: \$595\.38 a month \(us-east-1/);
    expect(second).toMatch(/\$547\.50 {2}MSK Serverless cluster: 1 cluster × 730 h × \$0\.75$/);
    expect(text.split('\n')).toHaveLength(6);
  });
});
