import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { StreamgateTable } from '../../lib/constructs/streamgate-table.ts';
import { StreamgateTables } from '../../lib/constructs/tables.ts';
import { statementsOf, testFunction, testStack, variablesOf } from './construct-fixtures.ts';

describe('StreamgateTable', () => {
  it('has the secure defaults: pk/sk keys, on demand, AWS managed encryption, PITR, a TTL, destroyed with the stack', () => {
    const stack = testStack();
    new StreamgateTable(stack, 'T', { envKey: 'connectionsTable' });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
    });
  });

  it('may be kept on deletion and go without a TTL', () => {
    const stack = testStack();
    new StreamgateTable(stack, 'T', {
      envKey: 'registryTable',
      expiring: false,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const [table] = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table'));
    expect(table?.DeletionPolicy).toBe('Retain');
    expect(table?.Properties.TimeToLiveSpecification).toBeUndefined();
  });

  it('binds a function in one call: the variable naming the table and item-level access, never Scan', () => {
    const stack = testStack();
    const table = new StreamgateTable(stack, 'Registry', { envKey: 'registryTable' });
    const reader = testFunction(stack, 'Reader');
    const writer = testFunction(stack, 'Writer', 'management');
    table.bind(reader, 'read');
    table.bind(writer, 'readwrite');
    const template = Template.fromStack(stack);
    expect(variablesOf(template, 'disconnect').REGISTRY_TABLE).toEqual({
      Ref: expect.stringMatching(/^Registry/),
    });
    const reads = JSON.stringify(statementsOf(template, 'ReaderRole'));
    expect(reads).toContain('dynamodb:Query');
    expect(reads).not.toMatch(/PutItem|UpdateItem|DeleteItem|BatchWriteItem|Scan/);
    const writes = JSON.stringify(statementsOf(template, 'WriterRole'));
    expect(writes).toMatch(/dynamodb:PutItem.*dynamodb:BatchWriteItem/);
    expect(writes).not.toContain('Scan');
  });
});

describe('StreamgateTables', () => {
  it('creates the four tables; only the registry is retained and has no TTL', () => {
    const stack = testStack();
    const tables = new StreamgateTables(stack, 'Tables');
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 4);
    template.resourcePropertiesCountIs(
      'AWS::DynamoDB::Table',
      { TimeToLiveSpecification: Match.objectLike({ AttributeName: 'expiresAt' }) },
      3,
    );
    const retained = Object.values(template.findResources('AWS::DynamoDB::Table')).filter(
      (t) => t.DeletionPolicy === 'Retain',
    );
    expect(retained).toHaveLength(1);
    expect(retained[0]?.Properties.TimeToLiveSpecification).toBeUndefined();
    expect(
      [tables.connections, tables.streamState, tables.throttle, tables.registry].map((t) => t.envKey),
    ).toEqual(['connectionsTable', 'streamStateTable', 'throttleTable', 'registryTable']);
  });
});
