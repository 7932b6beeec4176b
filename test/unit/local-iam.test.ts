import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dynamoDbAuthorizations } from '../../local/dynamodb-proxy.ts';
import { unrecognizedKeyMessage, verifySigV4 } from '../../local/gateway/sigv4.ts';
import { LocalIam } from '../../local/iam/local-iam.ts';
import { type CfnTemplate, LocalTemplate } from '../../local/template.ts';

const ADMIN = { accessKeyId: 'streamgatelocal', secretAccessKey: 'streamgatelocalsecret' };
const TABLE = 'arn:aws:dynamodb:us-east-1:000000000000:table/Streamgate-Table';
const allow = (Action: unknown, Resource: unknown) => ({ Effect: 'Allow', Action, Resource });

/** A template as CDK synthesizes it: roles with inline, attached, customer- and AWS-managed policies. */
function fixture(): CfnTemplate {
  const lambdaFn = (role: string) => ({
    Type: 'AWS::Lambda::Function',
    Properties: { Role: { 'Fn::GetAtt': [role, 'Arn'] } },
  });
  const role = (extra: Record<string, unknown> = {}) => ({
    Type: 'AWS::IAM::Role',
    Properties: { AssumeRolePolicyDocument: {}, ...extra },
  });
  const template = {
    Resources: {
      Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
      Api: { Type: 'AWS::ApiGatewayV2::Api', Properties: { ProtocolType: 'WEBSOCKET' } },
      Writer: lambdaFn('WriterRole'),
      Reader: lambdaFn('ReaderRole'),
      Consumer: lambdaFn('ConsumerRole'),
      WriterRole: role({
        Policies: [
          {
            PolicyName: 'logs',
            PolicyDocument: { Version: '2012-10-17', Statement: [allow('logs:PutLogEvents', '*')] },
          },
        ],
      }),
      WriterPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Roles: [{ Ref: 'WriterRole' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              allow(['dynamodb:PutItem', 'dynamodb:Query'], [{ 'Fn::GetAtt': ['Table', 'Arn'] }]),
              allow('execute-api:ManageConnections', {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    ':execute-api:',
                    { Ref: 'AWS::Region' },
                    ':',
                    { Ref: 'AWS::AccountId' },
                    ':',
                    { Ref: 'Api' },
                    '/prod/*/@connections/*',
                  ],
                ],
              }),
              { Effect: 'Deny', Action: 'dynamodb:DeleteItem', Resource: '*' },
              allow('dynamodb:DeleteItem', { 'Fn::GetAtt': ['Table', 'Arn'] }),
            ],
          },
        },
      },
      ReaderRole: role({ ManagedPolicyArns: [{ Ref: 'ReadPolicy' }] }),
      ReadPolicy: {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: {
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [allow('dynamodb:GetItem', { 'Fn::GetAtt': ['Table', 'Arn'] })],
          },
        },
      },
      ConsumerRole: role({
        ManagedPolicyArns: [
          {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaMSKExecutionRole'],
            ],
          },
          'arn:aws:iam::aws:policy/NotKnownHere',
        ],
      }),
    },
  };
  return template as unknown as CfnTemplate;
}

function localIam(template = fixture()): { iam: LocalIam; template: LocalTemplate } {
  const dir = mkdtempSync(path.join(tmpdir(), 'iam-test-'));
  writeFileSync(path.join(dir, 'Streamgate.assets.json'), '{"files":{}}');
  const local = new LocalTemplate(template, dir, 'Streamgate', {
    webSocketBase: 'http://localhost:1',
    httpBase: 'http://localhost:2',
  });
  return { iam: new LocalIam(local, ADMIN), template: local };
}

const roleOf = (iam: LocalIam, fn: string) => {
  const principal = iam.principalOf(iam.credentialsFor(fn).accessKeyId);
  if (!principal) throw new Error(`no principal for ${fn}`);
  return principal;
};

describe('LocalIam identities', () => {
  it('gives each function its own key, the same on every start, bound to its role', () => {
    const { iam } = localIam();
    const writer = iam.credentialsFor('Writer');
    expect(writer.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(writer.secretAccessKey).toHaveLength(40);
    expect(localIam().iam.credentialsFor('Writer')).toEqual(writer);
    expect(iam.credentialsFor('Reader').accessKeyId).not.toBe(writer.accessKeyId);
    expect(iam.principalOf(writer.accessKeyId)).toEqual({
      kind: 'role',
      roleLogicalId: 'WriterRole',
      roleArn: 'arn:aws:iam::000000000000:role/Streamgate-WriterRole',
      sessionArn: 'arn:aws:sts::000000000000:assumed-role/Streamgate-WriterRole/Streamgate-Writer',
    });
    expect(iam.secretOf(writer.accessKeyId)).toBe(writer.secretAccessKey);
    expect(iam.principalOf(ADMIN.accessKeyId)).toEqual({ kind: 'admin' });
    expect(iam.principalOf('AKIAUNKNOWN')).toBeUndefined();
    expect(iam.secretOf('AKIAUNKNOWN')).toBeUndefined();
    expect(() => iam.credentialsFor('Nope')).toThrow(/no function Nope/);
  });
});

describe('LocalIam decisions (identity policies, iam-simulate)', () => {
  it('allows what an attached policy allows, on the resolved ARN, and nothing else (AWS wording)', () => {
    const { iam } = localIam();
    const writer = roleOf(iam, 'Writer');
    expect(iam.authorize(writer, 'dynamodb:PutItem', TABLE).allowed).toBe(true);
    expect(
      iam.authorize(writer, 'logs:PutLogEvents', 'arn:aws:logs:us-east-1:000000000000:log-group:x').allowed,
    ).toBe(true);
    expect(iam.authorize(writer, 'dynamodb:GetItem', TABLE)).toEqual({
      allowed: false,
      reason:
        'User: arn:aws:sts::000000000000:assumed-role/Streamgate-WriterRole/Streamgate-Writer is not authorized to perform: ' +
        `dynamodb:GetItem on resource: ${TABLE} because no identity-based policy allows the dynamodb:GetItem action`,
    });
    // The table's grant does not cover its indexes.
    expect(iam.authorize(writer, 'dynamodb:Query', `${TABLE}/index/byTopic`).allowed).toBe(false);
  });

  it('an explicit deny wins over an allow', () => {
    const { iam } = localIam();
    const decision = iam.authorize(roleOf(iam, 'Writer'), 'dynamodb:DeleteItem', TABLE);
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toMatch(/with an explicit deny in an identity-based policy$/);
  });

  it('matches @connections calls against the API, stage and wildcards of the grant', () => {
    const { iam, template } = localIam();
    const apiId = template.physicalId('Api');
    const writer = roleOf(iam, 'Writer');
    const on = (api: string, stage: string) =>
      iam.authorize(
        writer,
        'execute-api:ManageConnections',
        `arn:aws:execute-api:us-east-1:000000000000:${api}/${stage}/POST/@connections/abc=`,
      ).allowed;
    expect(on(apiId, 'prod')).toBe(true);
    expect(on(apiId, 'dev')).toBe(false);
    expect(on('otherapi00', 'prod')).toBe(false);
    expect(
      iam.authorize(
        roleOf(iam, 'Reader'),
        'execute-api:ManageConnections',
        `arn:aws:execute-api:us-east-1:000000000000:${apiId}/prod/POST/@connections/abc=`,
      ).allowed,
    ).toBe(false);
  });

  it('evaluates customer managed policies from the template and AWS managed ones from their published document', () => {
    const { iam } = localIam();
    expect(iam.authorize(roleOf(iam, 'Reader'), 'dynamodb:GetItem', TABLE).allowed).toBe(true);
    expect(iam.authorize(roleOf(iam, 'Reader'), 'dynamodb:PutItem', TABLE).allowed).toBe(false);
    const consumer = roleOf(iam, 'Consumer');
    const cluster = 'arn:aws:kafka:us-east-1:000000000000:cluster/c/8a6c1a3e-1111-2222-3333-444455556666-s1';
    expect(iam.authorize(consumer, 'kafka:GetBootstrapBrokers', cluster).allowed).toBe(true);
    expect(iam.authorize(consumer, 'kafka-cluster:Connect', cluster).allowed).toBe(false);
    expect(iam.warnings).toEqual([
      'role ConsumerRole: managed policy arn:aws:iam::aws:policy/NotKnownHere is not known locally; evaluated as empty',
    ]);
  });

  it('allows the admin key everything', () => {
    const { iam } = localIam();
    expect(iam.authorize({ kind: 'admin' }, 'dynamodb:DeleteTable', TABLE).allowed).toBe(true);
  });

  it('sees a statement removed from the template (the integration test hook)', () => {
    const template = fixture();
    const policy = template.Resources.WriterPolicy?.Properties?.PolicyDocument as { Statement: unknown[] };
    policy.Statement.splice(0, 1);
    const { iam } = localIam(template);
    expect(iam.authorize(roleOf(iam, 'Writer'), 'dynamodb:PutItem', TABLE).allowed).toBe(false);
  });
});

describe('DynamoDB requests → IAM actions and resources', () => {
  const arn = (t: string) => `arn:aws:dynamodb:us-east-1:000000000000:table/${t}`;
  it('maps single-item operations to the table', () => {
    expect(dynamoDbAuthorizations('DynamoDB_20120810.PutItem', { TableName: 'T', Item: {} })).toEqual([
      { action: 'dynamodb:PutItem', resource: arn('T') },
    ]);
    expect(dynamoDbAuthorizations('DynamoDB_20120810.GetItem', { TableName: arn('T') })).toEqual([
      { action: 'dynamodb:GetItem', resource: arn('T') },
    ]);
  });
  it('maps a Query or Scan of an index to the index ARN', () => {
    expect(dynamoDbAuthorizations('DynamoDB_20120810.Query', { TableName: 'T', IndexName: 'I' })).toEqual([
      { action: 'dynamodb:Query', resource: `${arn('T')}/index/I` },
    ]);
    expect(dynamoDbAuthorizations('DynamoDB_20120810.Scan', { TableName: 'T' })).toEqual([
      { action: 'dynamodb:Scan', resource: arn('T') },
    ]);
  });
  it('checks every table of a batch and every entry of a transaction with its item action', () => {
    expect(
      dynamoDbAuthorizations('DynamoDB_20120810.BatchWriteItem', { RequestItems: { A: [], B: [] } }),
    ).toEqual([
      { action: 'dynamodb:BatchWriteItem', resource: arn('A') },
      { action: 'dynamodb:BatchWriteItem', resource: arn('B') },
    ]);
    expect(dynamoDbAuthorizations('DynamoDB_20120810.BatchGetItem', { RequestItems: { A: {} } })).toEqual([
      { action: 'dynamodb:BatchGetItem', resource: arn('A') },
    ]);
    expect(
      dynamoDbAuthorizations('DynamoDB_20120810.TransactWriteItems', {
        TransactItems: [
          { Put: { TableName: 'A' } },
          { Update: { TableName: 'B' } },
          { ConditionCheck: { TableName: 'A' } },
          { Delete: { TableName: 'A' } },
          { Put: { TableName: 'A' } },
        ],
      }),
    ).toEqual([
      { action: 'dynamodb:PutItem', resource: arn('A') },
      { action: 'dynamodb:UpdateItem', resource: arn('B') },
      { action: 'dynamodb:ConditionCheckItem', resource: arn('A') },
      { action: 'dynamodb:DeleteItem', resource: arn('A') },
    ]);
    expect(
      dynamoDbAuthorizations('DynamoDB_20120810.TransactGetItems', {
        TransactItems: [{ Get: { TableName: 'A' } }],
      }),
    ).toEqual([{ action: 'dynamodb:GetItem', resource: arn('A') }]);
  });
  it('authorizes operations on no table on *', () => {
    expect(dynamoDbAuthorizations('DynamoDB_20120810.ListTables', {})).toEqual([
      { action: 'dynamodb:ListTables', resource: '*' },
    ]);
  });
});

describe('SigV4 with local IAM keys', () => {
  it('verifies with the secret the lookup gives, and answers an unknown key as AWS does, saying what to run', async () => {
    const request = { method: 'GET', rawPath: '/', query: new URLSearchParams(), body: Buffer.alloc(0) };
    const headers = {
      host: 'localhost',
      'x-amz-date': '20260101T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAOTHER/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
        '0'.repeat(64),
    };
    const refused = await verifySigV4({ ...request, headers }, () => undefined);
    expect(refused).toEqual({
      ok: false,
      status: 403,
      error: 'UnrecognizedClientException',
      message: unrecognizedKeyMessage('AKIAOTHER'),
    });
    expect(unrecognizedKeyMessage('AKIAOTHER')).toMatch(
      /^The security token included in the request is invalid\. .*streamgate local env/,
    );
  });
});
