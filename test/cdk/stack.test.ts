import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../bin/streamgate.ts';
import type { StreamgateStack } from '../../lib/streamgate-stack.ts';
import {
  expectRegistryReadOnlyPlansCounted,
  expectVpcFunctionsManageInterfaces,
  PROD_STAGE,
  statementsOf,
  WEBSOCKET_ROUTE_KEYS,
} from './construct-fixtures.ts';

let app: App;
let stack: StreamgateStack;
/**
 * Templates only: esbuild bundling is skipped (CDK's `aws:cdk:bundling-stacks`), as bundles.test.ts
 * checks the bundles; it is most of a synthesis' time.
 */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };
let template: Template;
let outdir: string;

beforeAll(async () => {
  outdir = mkdtempSync(path.join(tmpdir(), 'streamgate-cdk-'));
  // Every area deployed: Kafka on (MSK Serverless), so the Kafka sample APIs are in.
  ({ app, stack } = await buildApp(
    new App({ outdir, context: { ...NO_BUNDLING, kafkaCluster: 'serverless' } }),
  ));
  template = Template.fromStack(stack);
});

const functionNamed = (handlerDir: string) =>
  Match.objectLike({ Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: handlerDir }) } });

function logicalIdOf(type: string, props: Record<string, unknown>): string {
  const found = Object.keys(template.findResources(type, { Properties: props }));
  expect(found).toHaveLength(1);
  return found[0] as string;
}

describe('the WebSocket API', () => {
  it('selects routes by $request.body.action', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  it('has $connect, $disconnect, $default and the control routes, each on a Lambda proxy integration', () => {
    const api = logicalIdOf('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' });
    const routes = Object.values(
      template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: api } } }),
    );
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(WEBSOCKET_ROUTE_KEYS);
    template.resourcePropertiesCountIs(
      'AWS::ApiGatewayV2::Integration',
      { ApiId: { Ref: api }, IntegrationType: 'AWS_PROXY' },
      3,
    );
    // the four message routes share one integration
    const messageRoutes = routes.filter((r) =>
      ['$default', 'publish', 'subscribe', 'unsubscribe'].includes(r.Properties.RouteKey),
    );
    expect(new Set(messageRoutes.map((r) => JSON.stringify(r.Properties.Target))).size).toBe(1);
  });

  it('deploys a throttled prod stage with access logs and detailed metrics', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', PROD_STAGE);
  });

  it('grants @connections on the prod stage only, to the functions that post (message, fan-out, the handlers’ follow-up, management; never a channel handler)', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const granting = Object.values(policies).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('execute-api:ManageConnections'),
    ) as { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: unknown[] } } }[];
    expect(granting.map((p) => p.Properties.Roles[0]?.Ref.replace(/Role.*/, '')).sort()).toEqual([
      'Fanout',
      'FollowUp',
      'Management',
      'Message',
    ]);
    for (const policy of granting) {
      const statement = policy.Properties.PolicyDocument.Statement.find((s) =>
        JSON.stringify(s).includes('ManageConnections'),
      ) as { Resource: unknown };
      expect(JSON.stringify(statement.Resource)).toMatch(/\/prod\/\*\/@connections\/\*/);
    }
  });
});

describe('the functions', () => {
  it('run Node.js 22 on arm64 from the house construct, each with its own log group and role', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(11);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogGroup: expect.anything() },
      });
      expect(fn.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe('streamgate');
    }
  });

  it('give each role only its log group (no managed policies but the one the MSK mapping needs)', () => {
    for (const [id, role] of Object.entries(template.findResources('AWS::IAM::Role'))) {
      if (JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('lambda.amazonaws.com')) {
        if (id.startsWith('FanoutRole')) {
          expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('AWSLambdaMSKExecutionRole');
        } else {
          expect(role.Properties.ManagedPolicyArns).toBeUndefined();
        }
        const statements = role.Properties.Policies[0].PolicyDocument.Statement;
        expect(statements).toEqual([
          expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow' }),
        ]);
      }
    }
  });

  it('tell $connect the table, the shard count and the trusted issuers (the built-in one from the HTTP API)', () => {
    const issuers = new Capture();
    template.hasResourceProperties(
      'AWS::Lambda::Function',
      Match.objectLike({
        Environment: {
          Variables: Match.objectLike({
            POWERTOOLS_SERVICE_NAME: 'connect',
            CONNECTIONS_TABLE: { Ref: Match.stringLikeRegexp('^ConnectionsTable') },
            TOPIC_SHARDS: '4',
            TOKEN_ISSUERS: issuers,
          }),
        },
      }),
    );
    expect(JSON.stringify(issuers.asObject())).toMatch(/HttpApi.*\.well-known\/jwks\.json/);
  });

  it('give the message function the callback URL of the stage', () => {
    template.hasResourceProperties(
      'AWS::Lambda::Function',
      Match.objectLike({
        Environment: {
          Variables: Match.objectLike({
            POWERTOOLS_SERVICE_NAME: 'message',
            CALLBACK_URL: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['/prod'])]) }),
          }),
        },
      }),
    );
    template.hasResourceProperties('AWS::Lambda::Function', functionNamed('disconnect'));
  });

  it('let $connect write connections and read the registry and the published PUBLIC keys, but not read signing keys', () => {
    const connectRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) =>
      id.startsWith('ConnectRole'),
    );
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(connectRole as string),
    );
    const text = JSON.stringify(policies);
    expect(text).toContain('dynamodb:PutItem');
    const secretStatements = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[])
      .filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager'));
    expect(secretStatements.length).toBeGreaterThan(0);
    for (const statement of secretStatements) {
      expect(JSON.stringify(statement.Resource)).toMatch(/^\{"Ref":"PublicJwks[0-9A-F]{8}"\}$/);
    }
    expect(text).not.toMatch(/SigningKeys/);
  });

  it('never let a function Scan a table', () => {
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('dynamodb:Scan');
  });
});

describe('the tables', () => {
  it('keep connections with a TTL, encrypted, with point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('retain the registry on stack deletion', () => {
    const registry = Object.entries(template.findResources('AWS::DynamoDB::Table')).find(([id]) =>
      id.startsWith('RegistryTable'),
    );
    expect(registry?.[1].DeletionPolicy).toBe('Retain');
    expect(registry?.[1].Properties.SSESpecification).toEqual({ SSEEnabled: true });
  });
});

describe('the token issuer', () => {
  it('keeps signing keys in a secret rotated by its own function, immediately and then on schedule', () => {
    const secret = logicalIdOf('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('signing keys \\(private JWKs\\)'),
    });
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: secret },
      RotationLambdaARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SigningKeyRotation'), 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
  });

  it('serves POST /oauth2/token and GET /.well-known/{document} on a throttled HTTP API with access logs', () => {
    const keys = Object.values(template.findResources('AWS::ApiGatewayV2::Route'))
      .map((r) => r.Properties.RouteKey)
      .filter((k) => !k.startsWith('$') && !['ping', 'publish', 'subscribe', 'unsubscribe'].includes(k));
    expect(keys.sort()).toEqual([
      'ANY /admin/{proxy+}',
      'GET /.well-known/{document}',
      'GET /applications/{proxy+}',
      'POST /oauth2/token',
    ]);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 50 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it('lets only the token function read the signing keys', () => {
    const readers = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[]).some(
        (statement) =>
          JSON.stringify(statement.Action).includes('secretsmanager:GetSecretValue') &&
          JSON.stringify(statement.Resource).includes('SigningKeys'),
      ),
    );
    expect(readers.length).toBeGreaterThan(0);
    const roles = readers.flatMap((p) => p.Properties.Roles.map((r: { Ref: string }) => r.Ref));
    expect(
      roles.every((r: string) => r.startsWith('TokenRole') || r.startsWith('SigningKeyRotationRole')),
    ).toBe(true);
  });
});

describe('the edge', () => {
  // What the edge does: websocket-edge.test.ts. Here: the app puts it in front of its stage.
  it('sits in front of the prod stage', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ Origins: [Match.objectLike({ OriginPath: '/prod' })] }),
    });
  });
});

describe('policy checks', () => {
  it('pass cdk-nag AwsSolutions (synthesis fails on any unacknowledged finding)', () => {
    expect(() => app.synth()).not.toThrow();
  });

  it('every acknowledged finding has a written reason', () => {
    const metadata = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'));
    expect(metadata.length).toBeGreaterThan(5);
    for (const entry of metadata) {
      for (const reason of Object.values(entry.data as Record<string, string>))
        expect(reason.length).toBeGreaterThan(20);
    }
  });

  it('pass cfn-lint', () => {
    app.synth();
    const result = spawnSync('cfn-lint', [path.join(outdir, 'Streamgate.template.json')], {
      encoding: 'utf8',
    });
    expect(result.error).toBeUndefined();
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('cdk synth', () => {
  it('runs offline with no AWS credentials', () => {
    const env = { ...process.env };
    for (const key of Object.keys(env)) if (key.startsWith('AWS_')) delete env[key];
    const out = mkdtempSync(path.join(tmpdir(), 'streamgate-synth-'));
    const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '--output', out], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { ...env, HOME: mkdtempSync(path.join(tmpdir(), 'home-')) },
      encoding: 'utf8',
    });
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
  });
});

describe('the Kafka fan-out', () => {
  it('maps each Kafka topic in use to the fan-out function with its own consumer group and the failure queue', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
    expect(mappings.map((m) => m.Properties.Topics).sort()).toEqual([
      ['chat-announcements'],
      ['kafka_sample_topic'],
      ['train-locations'],
    ]);
    for (const mapping of mappings) {
      const [topic] = mapping.Properties.Topics;
      expect(mapping.Properties).toMatchObject({
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 0,
        StartingPosition: 'LATEST',
        AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: `streamgate-${topic}` },
        EventSourceArn: { 'Fn::GetAtt': [expect.stringMatching(/^KafkaCluster/), 'Arn'] },
        FunctionName: { Ref: expect.stringMatching(/^Fanout/) },
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/^FailureQueue/), 'Arn'] } },
        },
      });
    }
  });

  it('creates an MSK Serverless cluster with IAM auth in isolated subnets, with the endpoints the mapping needs', () => {
    template.hasResourceProperties('AWS::MSK::ServerlessCluster', {
      ClientAuthentication: { Sasl: { Iam: { Enabled: true } } },
      VpcConfigs: [{ SubnetIds: Match.anyValue(), SecurityGroups: Match.anyValue() }],
    });
    const services = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((e) =>
      JSON.stringify(e.Properties.ServiceName),
    );
    expect(services.join(' ')).toMatch(/\.lambda/);
    expect(services.join(' ')).toMatch(/\.sts/);
    expect(services.join(' ')).toMatch(/\.sqs/);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
  });

  it('lets the fan-out read only its topics and use only its consumer groups', () => {
    const fanoutRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) =>
      id.startsWith('FanoutRole'),
    );
    const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) =>
      JSON.stringify(p.Properties.Roles).includes(fanoutRole as string),
    );
    const statements = policy?.Properties.PolicyDocument.Statement as {
      Action: string | string[];
      Resource: unknown;
    }[];
    const kafka = statements.filter((s) => JSON.stringify(s.Action).includes('kafka-cluster:'));
    const text = JSON.stringify(kafka);
    expect(text).toMatch(/topic\/.*train-locations/);
    expect(text).toMatch(/group\/.*streamgate-train-locations/);
    expect(text).not.toMatch(/kafka-cluster:\*/);
    for (const statement of kafka) expect(JSON.stringify(statement.Resource)).not.toBe('"*"');
    expect(JSON.stringify(statements)).toContain('sqs:SendMessage');
  });

  it('keeps failures in an encrypted queue that only takes TLS', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('reads an existing cluster instead when its ARN is given as context', async () => {
    const arn =
      'arn:aws:kafka:eu-west-1:123456789012:cluster/prod-streams/11111111-2222-3333-4444-555555555555-1';
    const { stack: other } = await buildApp(
      new App({
        outdir: mkdtempSync(path.join(tmpdir(), 'sg-')),
        context: { ...NO_BUNDLING, kafkaClusterArn: arn },
      }),
    );
    const t = Template.fromStack(other);
    t.resourceCountIs('AWS::MSK::ServerlessCluster', 0);
    t.resourceCountIs('AWS::EC2::VPC', 0);
    for (const mapping of Object.values(t.findResources('AWS::Lambda::EventSourceMapping'))) {
      expect(mapping.Properties.EventSourceArn).toBe(arn);
    }
    const fanoutReads = statementsOf(t, 'FanoutRole').filter((s) =>
      ([] as unknown[]).concat(s.Action).includes('kafka-cluster:ReadData'),
    );
    expect(fanoutReads.map((s) => s.Resource).sort()).toEqual(
      ['chat-announcements', 'kafka_sample_topic', 'train-locations'].map(
        (topic) =>
          `arn:aws:kafka:eu-west-1:123456789012:topic/prod-streams/11111111-2222-3333-4444-555555555555-1/${topic}`,
      ),
    );
  });
});

describe('the default deploy: Kafka off (kafka.cluster "none", issue 12 #9)', () => {
  let t: Template;
  let warnings: string[];
  beforeAll(async () => {
    const built = await buildApp(
      new App({ outdir: mkdtempSync(path.join(tmpdir(), 'sg-')), context: NO_BUNDLING }),
    );
    t = Template.fromStack(built.stack);
    warnings = built.stack.node
      .findAll()
      .flatMap((c) => c.node.metadata)
      .filter((m) => m.type === 'aws:cdk:warning')
      .map((m) => String(m.data));
  }, 180_000);

  it('creates nothing that costs money while idle: no MSK, no VPC, no interface endpoints, no Kafka functions', () => {
    for (const type of [
      'AWS::MSK::ServerlessCluster',
      'AWS::MSK::Cluster',
      'AWS::EC2::VPC',
      'AWS::EC2::VPCEndpoint',
      'AWS::EC2::NatGateway',
      'AWS::Lambda::EventSourceMapping',
      'Custom::KafkaTopics',
    ])
      t.resourceCountIs(type, 0);
    const services = Object.values(t.findResources('AWS::Lambda::Function')).map(
      (fn) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME,
    );
    expect(services).not.toContain('fanout');
    expect(services).not.toContain('producer');
  });

  it('turns Kafka on with the context kafka.cluster too (the setting’s own path)', async () => {
    const { stack: on } = await buildApp(
      new App({
        outdir: mkdtempSync(path.join(tmpdir(), 'sg-')),
        context: { ...NO_BUNDLING, 'kafka.cluster': 'serverless' },
      }),
    );
    Template.fromStack(on).resourceCountIs('AWS::MSK::ServerlessCluster', 1);
  }, 120_000);

  it('leaves out each API with a Kafka-bound channel, naming it and the setting in a warning and an output', () => {
    const leftOut = [
      'carbon.super/Chats/1.0.0',
      'carbon.super/SweetProdApp/1.0.0',
      'quantis.com/TrainRealLocationAPI/1.0.0',
    ];
    t.hasOutput('ApisLeftOut', { Value: Match.anyValue() });
    const output = String(t.findOutputs('ApisLeftOut').ApisLeftOut?.Value).split(' ').sort();
    expect(output).toEqual(leftOut.sort());
    for (const id of output) {
      expect(warnings.find((w) => w.includes(`API ${id} is left out`))).toMatch(/"cluster": "serverless"/);
    }
    const catalog = JSON.stringify(
      Object.values(t.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.Environment),
    );
    expect(catalog).not.toMatch(/chat-announcements/);
  });
});

describe('clients publishing to Kafka (the fixtures’ KafkaRooms)', () => {
  const withFixtures = (context: Record<string, string> = {}) =>
    buildApp(
      new App({
        outdir: mkdtempSync(path.join(tmpdir(), 'sg-')),
        context: {
          ...NO_BUNDLING,
          'streamgate:extraApiDirs': 'test/fixtures/apis',
          kafkaCluster: 'serverless',
          ...context,
        },
      }),
    );
  let t: Template;
  beforeAll(async () => {
    t = Template.fromStack((await withFixtures()).stack);
  }, 180_000);

  it('gives a topic the batching window its channels ask for, and the others the config’s', () => {
    const windowOf = (topic: string) =>
      Object.values(t.findResources('AWS::Lambda::EventSourceMapping')).find(
        (m) => m.Properties.Topics[0] === topic,
      )?.Properties.MaximumBatchingWindowInSeconds;
    expect(windowOf('test-batched-feed')).toBe(2);
    expect(windowOf('test-kafka-rooms')).toBe(0);
  });

  it('runs a producer function in the cluster VPC, reaching the Kafka API through an endpoint', () => {
    const producer = Object.values(t.findResources('AWS::Lambda::Function')).find((fn) =>
      JSON.stringify(fn.Properties.Environment ?? {}).includes('KAFKA_CLUSTER_ARN'),
    );
    expect(producer?.Properties.VpcConfig).toMatchObject({
      SubnetIds: [expect.anything(), expect.anything()],
      SecurityGroupIds: [expect.anything()],
    });
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('\\.kafka$')])],
      }),
      VpcEndpointType: 'Interface',
    });
  });

  it('gives every function in a VPC (producer, topic admin) the network-interface permissions on its own role (issue 12 #3)', () => {
    expectVpcFunctionsManageInterfaces(t, 2);
  });

  it('creates the topics before the producer and the mappings use them (issue 12 #2)', () => {
    const topics = Object.keys(t.findResources('Custom::KafkaTopics'));
    expect(topics).toHaveLength(1);
    const producer = Object.entries(t.findResources('AWS::Lambda::Function')).find(
      ([, fn]) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'producer',
    );
    expect(producer?.[1].DependsOn).toContain(topics[0]);
    for (const mapping of Object.values(t.findResources('AWS::Lambda::EventSourceMapping')))
      expect(mapping.DependsOn).toContain(topics[0]);
  });

  it('lets the producer write to the published topics only, and the message function invoke it', () => {
    const policies = Object.entries(t.findResources('AWS::IAM::Policy'));
    const producerPolicy = JSON.stringify(policies.filter(([id]) => id.startsWith('ProducerRole')));
    expect(producerPolicy).toContain('kafka-cluster:WriteData');
    expect(producerPolicy).toMatch(/topic\/.*\/test-kafka-rooms/);
    expect(producerPolicy).toMatch(/topic\/.*\/test-sensor-readings/);
    expect(producerPolicy).not.toMatch(/train-locations|ReadData|AlterGroup/);
    expect(producerPolicy).toContain('kafka:GetBootstrapBrokers');
    const messagePolicy = JSON.stringify(policies.filter(([id]) => id.startsWith('MessageRole')));
    expect(messagePolicy).toMatch(/lambda:InvokeFunction.*Producer/);
    const message = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('Message'),
    );
    expect(message?.[1].Properties.Environment.Variables.PRODUCER_FUNCTION).toEqual({
      Ref: expect.stringMatching(/^Producer/),
    });
  });

  it('refuses to synthesize publishing channels on an existing cluster, saying why', async () => {
    await expect(
      withFixtures({
        kafkaCluster: 'arn:aws:kafka:eu-west-1:123456789012:cluster/x/11111111-2222-3333-4444-555555555555-1',
      }),
    ).rejects.toThrow(/channels that publish to Kafka need the producer function in the cluster’s VPC/);
  });
});

describe('applications, plans and throttling', () => {
  const policyOf = (rolePrefix: string) => {
    const role = Object.keys(template.findResources('AWS::IAM::Role')).find((id) =>
      id.startsWith(rolePrefix),
    );
    return JSON.stringify(
      Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
        JSON.stringify(p.Properties.Roles).includes(role as string),
      ),
    );
  };

  it('keeps plan counters in their own table, with a TTL', () => {
    const tables = Object.keys(template.findResources('AWS::DynamoDB::Table'));
    expect(tables.some((id) => id.startsWith('ThrottleTable'))).toBe(true);
    const throttle = Object.entries(template.findResources('AWS::DynamoDB::Table')).find(([id]) =>
      id.startsWith('ThrottleTable'),
    );
    expect(throttle?.[1].Properties.TimeToLiveSpecification).toEqual({
      AttributeName: 'expiresAt',
      Enabled: true,
    });
  });

  it('authorizes administration routes with IAM and leaves application self-service to client credentials', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => [
      r.Properties.RouteKey,
      r.Properties.AuthorizationType ?? 'NONE',
    ]);
    expect(routes).toContainEqual(['ANY /admin/{proxy+}', 'AWS_IAM']);
    expect(routes).toContainEqual(['GET /applications/{proxy+}', 'NONE']);
  });

  it('lets the management function change the registry and deliver backends’ publications, nothing else', () => {
    const policy = policyOf('ManagementRole');
    expect(policy).toMatch(/RegistryTable/);
    expect(policy).toMatch(/dynamodb:PutItem/);
    const tables = JSON.parse(policy)
      .flatMap(
        (p: { Properties: { PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] } } }) =>
          p.Properties.PolicyDocument.Statement,
      )
      .flatMap((s: { Resource: unknown }) => JSON.stringify(s.Resource).match(/\w+Table\w*?(?=")/g) ?? []);
    expect([...new Set(tables.map((t: string) => t.replace(/[A-F0-9]{8}$/, '')))].sort()).toEqual([
      'ConnectionsTable',
      'RegistryTable',
      'ThrottleTable',
    ]);
  });

  it('offers backends a managed policy for the publish route only', () => {
    const resource = new Capture();
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: resource }] },
    });
    expect(JSON.stringify(resource.asObject())).toMatch(
      /\/\$default\/POST\/admin\/tenants\/\*\/apis\/\*\/\*\/publish"/,
    );
    template.hasOutput('BackendPublishPolicyArn', {});
  });

  it('lets the gateway functions read the registry and count against plans, but not change the registry', () => {
    for (const role of ['ConnectRole', 'MessageRole', 'FanoutRole']) {
      const statements = JSON.parse(policyOf(role)).flatMap(
        (p: { Properties: { PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] } } }) =>
          p.Properties.PolicyDocument.Statement,
      ) as { Action: string | string[]; Resource: unknown }[];
      expectRegistryReadOnlyPlansCounted(statements);
    }
  });

  it('tells the gateway functions which issuer is the built-in one', () => {
    template.hasResourceProperties(
      'AWS::Lambda::Function',
      Match.objectLike({
        Environment: {
          Variables: Match.objectLike({
            POWERTOOLS_SERVICE_NAME: 'connect',
            REGISTRY_TABLE: { Ref: Match.stringLikeRegexp('^RegistryTable') },
            THROTTLE_TABLE: { Ref: Match.stringLikeRegexp('^ThrottleTable') },
            BUILTIN_ISSUER: Match.anyValue(),
          }),
        },
      }),
    );
  });
});

describe('channel handlers', () => {
  it('deploy each handler module as a function the gateway functions may invoke, and tell them its name', () => {
    for (const module of ['examples/chat-backend', 'examples/echo']) {
      template.hasResourceProperties(
        'AWS::Lambda::Function',
        Match.objectLike({
          Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: module }) },
        }),
      );
    }
    const handlers = new Capture();
    template.hasResourceProperties(
      'AWS::Lambda::Function',
      Match.objectLike({
        Environment: {
          Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'connect', HANDLER_FUNCTIONS: handlers }),
        },
      }),
    );
    expect(JSON.stringify(handlers.asObject())).toMatch(/examples\/chat-backend.*HandlerExamplesChatBackend/);
    const invoke = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(invoke).toMatch(/lambda:InvokeFunction/);
  });
});
