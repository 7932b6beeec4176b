import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CfnElement,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat, CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  WebSocketApi,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Catalog, ChannelDef } from '../lambdas/core/catalog.ts';
import { CONTROL_ACTIONS } from '../lambdas/core/control.ts';
import type { StreamgateConfig } from './config.ts';
import { KafkaIngest } from './constructs/kafka-ingest.ts';
import { StreamgateFunction } from './constructs/streamgate-function.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface StreamgateStackProps extends StackProps {
  readonly catalog: Catalog;
  readonly config: StreamgateConfig;
}

/**
 * streamgate on AWS: a WebSocket API whose `$connect` authorizes and registers connections,
 * `$default` and control routes that publish and manage subscriptions, a DynamoDB connection
 * registry, the built-in OAuth2 token issuer behind an HTTP API, and a CloudFront edge that carries
 * WSO2-style URLs to the stage.
 */
export class StreamgateStack extends Stack {
  readonly webSocketApi: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly httpApi: HttpApi;
  readonly catalog: Catalog;

  constructor(scope: Construct, id: string, props: StreamgateStackProps) {
    super(scope, id, props);
    const { catalog, config } = props;
    this.catalog = catalog;
    const logRetention = retentionOf(config.logRetentionDays);

    // --- Registry tables ---------------------------------------------------------------------
    const connectionsTable = new Table(this, 'ConnectionsTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Connections live at most two hours; nothing here outlives a redeploy.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Stream processing state: fan-out checkpoints (and, with transforms, aggregates).
    const streamStateTable = new Table(this, 'StreamStateTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Business plan counters: fixed windows per subscription, and concurrent connections.
    const throttleTable = new Table(this, 'ThrottleTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const registryTable = new Table(this, 'RegistryTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // --- Token issuer: signing keys, rotation, token endpoint ----------------------------------
    const signingKeys = new Secret(this, 'SigningKeys', {
      description:
        'streamgate token issuer signing keys (private JWKs); written only by the rotation function',
      generateSecretString: { secretStringTemplate: '{"keys":[]}', generateStringKey: 'unused' },
    });
    const rotation = new StreamgateFunction(this, 'SigningKeyRotation', {
      handlerDir: 'signing-key-rotation',
      catalog,
      logRetention,
      timeout: Duration.seconds(30),
      environment: { TOKEN_TTL_SECONDS: String(config.token.lifetimeSeconds) },
    });
    acknowledge(
      rotation.role as Construct,
      'AwsSolutions-IAM5[Resource::*]',
      'secretsmanager:GetRandomPassword, granted by the rotation schedule, has no resource to scope to.',
    );
    signingKeys.addRotationSchedule('Rotation', {
      rotationLambda: rotation,
      automaticallyAfter: Duration.days(config.token.rotationDays),
      rotateImmediatelyOnUpdate: true,
    });

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'streamgate OAuth2 token issuer and JWKS',
      createDefaultStage: false,
    });
    const issuerUrl = this.httpApi.apiEndpoint;
    const token = new StreamgateFunction(this, 'Token', {
      handlerDir: 'token',
      catalog,
      logRetention,
      timeout: Duration.seconds(10),
      environment: {
        TOKEN_ISSUER: issuerUrl,
        TOKEN_AUDIENCE: config.token.audience,
        TOKEN_TTL_SECONDS: String(config.token.lifetimeSeconds),
        REGISTRY_TABLE: registryTable.tableName,
        SIGNING_KEY_SECRET: signingKeys.secretArn,
      },
    });
    grantItems(registryTable, token, 'read');
    signingKeys.grantRead(token);
    const tokenIntegration = new HttpLambdaIntegration('TokenIntegration', token);
    acknowledge(
      this.httpApi,
      'AwsSolutions-APIG4',
      'Administration routes use IAM authorization; OAuth2 and application self-service routes authenticate client credentials themselves (client_secret_basic/post); the JWKS and metadata are public by design.',
    );
    this.httpApi.addRoutes({
      path: '/oauth2/token',
      methods: [HttpMethod.POST],
      integration: tokenIntegration,
    });
    this.httpApi.addRoutes({
      path: '/.well-known/{document}',
      methods: [HttpMethod.GET],
      integration: tokenIntegration,
    });
    // Management API: administrators through IAM (SigV4), applications with their own client credentials.
    const management = new StreamgateFunction(this, 'Management', {
      handlerDir: 'management',
      catalog,
      withDefinitions: true,
      logRetention,
      timeout: Duration.seconds(15),
      environment: { REGISTRY_TABLE: registryTable.tableName, THROTTLE_TABLE: throttleTable.tableName },
    });
    grantItems(registryTable, management, 'readwrite');
    grantItems(throttleTable, management, 'readwrite');
    const managementIntegration = new HttpLambdaIntegration('ManagementIntegration', management);
    this.httpApi.addRoutes({
      path: '/admin/{proxy+}',
      methods: [HttpMethod.ANY],
      integration: managementIntegration,
      authorizer: new HttpIamAuthorizer(),
    });
    this.httpApi.addRoutes({
      path: '/applications/{proxy+}',
      methods: [HttpMethod.GET],
      integration: managementIntegration,
    });
    // What a backend's role attaches to push frames to topics (POST …/apis/{api}/{version}/publish).
    const backendPublish = new ManagedPolicy(this, 'BackendPublishPolicy', {
      description: 'Lets a backend publish frames to streamgate topics through the management API',
      statements: [
        new PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [this.httpApi.arnForExecuteApi('POST', '/admin/tenants/*/apis/*/*/publish', '$default')],
        }),
      ],
    });
    acknowledge(
      backendPublish,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${this.getLogicalId(this.httpApi.node.defaultChild as CfnElement)}>/$default/POST/admin/tenants/*/apis/*/*/publish]`,
      'The publish route of every tenant and API; attach to a backend role and narrow the ARN to restrict it to some APIs.',
    );
    new CfnOutput(this, 'BackendPublishPolicyArn', {
      value: backendPublish.managedPolicyArn,
      description: 'Attach to a backend role to let it publish to topics',
    });
    const httpLogs = new LogGroup(this, 'HttpApiAccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new HttpStage(this, 'HttpApiStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 100, burstLimit: 50 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(httpLogs),
        format: accessLogFormat('http'),
      },
    });

    // --- WebSocket API ---------------------------------------------------------------------------
    const issuers = [
      {
        issuer: issuerUrl,
        jwksUri: `${issuerUrl}/.well-known/jwks.json`,
        audience: config.token.audience,
        typ: 'at+jwt',
      },
      ...config.issuers,
    ];
    // What the gateway functions read: connections, the registry (subscriptions, plans), plan counters.
    const registryEnv = {
      CONNECTIONS_TABLE: connectionsTable.tableName,
      TOPIC_SHARDS: String(config.topicShards),
      REGISTRY_TABLE: registryTable.tableName,
      THROTTLE_TABLE: throttleTable.tableName,
      BUILTIN_ISSUER: issuerUrl,
    };
    const grantGatewayData = (fn: StreamgateFunction) => {
      grantItems(connectionsTable, fn, 'readwrite');
      grantItems(registryTable, fn, 'read');
      grantItems(throttleTable, fn, 'readwrite');
    };
    const connect = new StreamgateFunction(this, 'Connect', {
      handlerDir: 'connect',
      catalog,
      logRetention,
      environment: { ...registryEnv, TOKEN_ISSUERS: this.toJsonString(issuers) },
    });
    const disconnect = new StreamgateFunction(this, 'Disconnect', {
      handlerDir: 'disconnect',
      catalog,
      logRetention,
      environment: registryEnv,
    });
    const message = new StreamgateFunction(this, 'Message', {
      handlerDir: 'message',
      catalog,
      logRetention,
      environment: { ...registryEnv, DELIVERY_CONCURRENCY: String(config.deliveryConcurrency) },
    });
    for (const fn of [connect, disconnect, message]) grantGatewayData(fn);

    this.webSocketApi = new WebSocketApi(this, 'WebSocketApi', {
      description: 'streamgate managed WebSocket APIs',
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: { integration: new WebSocketLambdaIntegration('ConnectIntegration', connect) },
      disconnectRouteOptions: {
        integration: new WebSocketLambdaIntegration('DisconnectIntegration', disconnect),
      },
    });
    const messageIntegration = new WebSocketLambdaIntegration('MessageIntegration', message);
    this.webSocketApi.addRoute('$default', { integration: messageIntegration });
    for (const action of CONTROL_ACTIONS)
      this.webSocketApi.addRoute(action, { integration: messageIntegration });

    let accountRole: CfnAccount | undefined;
    if (config.apiGatewayAccountRole) {
      const role = new Role(this, 'ApiGatewayLoggingRole', {
        assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
        managedPolicies: [
          ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
        ],
      });
      accountRole = new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
      acknowledge(
        role,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for the account-wide API Gateway logging role.',
      );
    }
    const wsLogs = new LogGroup(this, 'WebSocketAccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName: config.stageName,
      autoDeploy: true,
      throttle: config.throttle,
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(wsLogs),
        format: accessLogFormat('websocket'),
      },
    });
    if (accountRole) this.stage.node.addDependency(accountRole);

    // @connections on this stage only: fan-outs post to subscribers and answer senders.
    this.grantPosting(message, config.stageName);
    acknowledge(
      this.webSocketApi,
      'AwsSolutions-APIG4',
      'The $connect function authorizes every connection (JWT, tenant, scopes, plan); the other routes only run on connections it accepted.',
    );
    message.addEnvironment('CALLBACK_URL', this.stage.callbackUrl);
    // Backends publish through the management API: it delivers like the gateway functions do.
    for (const [name, value] of Object.entries(registryEnv)) management.addEnvironment(name, value);
    management.addEnvironment('CALLBACK_URL', this.stage.callbackUrl);
    grantItems(connectionsTable, management, 'readwrite');
    this.grantPosting(management, config.stageName);

    // --- Channel handlers (backend type "handler"): one function per handler module -------------------
    const handlerModules = [
      ...new Set(
        catalog.apis.flatMap((api) =>
          api.channels.flatMap((channel) =>
            channel.backend.type === 'handler' ? [channel.backend.handler] : [],
          ),
        ),
      ),
    ].sort();
    const handlerFunctions: Record<string, string> = {};
    handlerModules.forEach((module) => {
      const id = `Handler${module
        .replace(/[^A-Za-z0-9]/g, ' ')
        .replace(/(^|\s)(\w)/g, (_, __, c: string) => c.toUpperCase())
        .replace(/\s/g, '')}`;
      const fn = new StreamgateFunction(this, id, {
        handlerDir: 'channel-handler',
        serviceName: module,
        aliases: { 'streamgate-user-handler': path.join(HERE, '..', module, 'index.ts') },
        catalog,
        logRetention,
        environment: {
          ...registryEnv,
          CALLBACK_URL: this.stage.callbackUrl,
          DELIVERY_CONCURRENCY: String(config.deliveryConcurrency),
        },
      });
      grantGatewayData(fn);
      this.grantPosting(fn, config.stageName);
      acknowledge(
        fn,
        'AwsSolutions-L1',
        'Node.js 22 is the runtime streamgate targets and tests; upgrades are deliberate.',
      );
      for (const caller of [connect, message, disconnect]) {
        fn.grantInvoke(caller);
        acknowledge(
          caller.role as Construct,
          `AwsSolutions-IAM5[Resource::<${this.getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
          'Invoking this one channel handler function, any version of it.',
        );
      }
      handlerFunctions[module] = fn.functionName;
    });
    if (handlerModules.length) {
      for (const caller of [connect, message, disconnect]) {
        caller.addEnvironment('HANDLER_FUNCTIONS', this.toJsonString(handlerFunctions));
      }
    }

    // --- Kafka → WebSocket fan-out ------------------------------------------------------------------
    const kafkaTopics = (which: (channel: ChannelDef) => boolean) =>
      [
        ...new Set(
          catalog.apis.flatMap((api) =>
            api.channels.flatMap((channel) =>
              channel.backend.type === 'kafka' && which(channel) ? [channel.backend.topic] : [],
            ),
          ),
        ),
      ].sort();
    if (kafkaTopics(() => true).length) {
      const failureQueue = new Queue(this, 'FailureQueue', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      acknowledge(
        failureQueue,
        'AwsSolutions-SQS3',
        'This queue is itself the failure destination (dead letters) of the Kafka fan-out.',
      );
      const fanout = new StreamgateFunction(this, 'Fanout', {
        handlerDir: 'fanout',
        catalog,
        logRetention,
        memorySize: config.kafka.fanoutMemoryMb,
        timeout: Duration.seconds(config.kafka.fanoutTimeoutSeconds),
        environment: {
          ...registryEnv,
          CALLBACK_URL: this.stage.callbackUrl,
          STREAM_STATE_TABLE: streamStateTable.tableName,
          FAILURE_QUEUE_URL: failureQueue.queueUrl,
          DELIVERY_CONCURRENCY: String(config.deliveryConcurrency),
          SUBSCRIBER_CACHE_MS: String(config.kafka.subscriberCacheMs),
        },
      });
      grantGatewayData(fanout);
      grantItems(streamStateTable, fanout, 'readwrite');
      failureQueue.grantSendMessages(fanout);
      this.grantPosting(fanout, config.stageName);
      acknowledge(
        fanout,
        'AwsSolutions-L1',
        'Node.js 22 is the runtime streamgate targets and tests; upgrades are deliberate.',
      );
      const ingest = new KafkaIngest(this, 'Kafka', {
        fanout,
        topics: kafkaTopics((channel) => channel.sub),
        batchingWindows: batchingWindows(catalog),
        config: config.kafka,
        ...(this.node.tryGetContext('kafkaClusterArn')
          ? { clusterArn: this.node.tryGetContext('kafkaClusterArn') }
          : {}),
        failureQueue,
        acknowledge,
      });
      new CfnOutput(this, 'KafkaClusterArn', {
        value: ingest.clusterArn,
        description: 'MSK cluster the fan-out reads',
      });
      new CfnOutput(this, 'FailureQueueUrl', {
        value: failureQueue.queueUrl,
        description: 'Poison records and failed batches',
      });

      // --- WebSocket → Kafka: frames published on Kafka-bound channels ------------------------------
      const publishTopics = kafkaTopics((channel) => channel.pub);
      if (publishTopics.length) {
        const producer = new StreamgateFunction(this, 'Producer', {
          handlerDir: 'producer',
          catalog,
          logRetention,
          ...ingest.producerPlacement(),
          environment: { KAFKA_CLUSTER_ARN: ingest.clusterArn },
        });
        ingest.grantProduce(producer, publishTopics);
        producer.grantInvoke(message);
        message.addEnvironment('PRODUCER_FUNCTION', producer.functionName);
        acknowledge(
          producer,
          'AwsSolutions-L1',
          'Node.js 22 is the runtime streamgate targets and tests; upgrades are deliberate.',
        );
        acknowledge(
          producer.role as Construct,
          'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
          'Lambda needs it to manage the network interfaces of a function in the cluster VPC.',
        );
        acknowledge(
          message.role as Construct,
          `AwsSolutions-IAM5[Resource::<${this.getLogicalId(producer.node.defaultChild as CfnElement)}.Arn>:*]`,
          'Invoke of the producer function, any version or alias of it.',
        );
      }
    }

    // --- Edge ------------------------------------------------------------------------------------
    // The URLs clients use, for the AsyncAPI documents the management API exports.
    management.addEnvironment('WEBSOCKET_STAGE_URL', this.stage.url);
    management.addEnvironment('TOKEN_URL', `${issuerUrl}/oauth2/token`);
    if (config.edge) management.addEnvironment('WEBSOCKET_EDGE_URL', this.addEdge());

    new CfnOutput(this, 'WebSocketUrl', {
      value: this.stage.url,
      description: 'Stage URL (target in ?target=)',
    });
    new CfnOutput(this, 'CallbackUrl', {
      value: this.stage.callbackUrl,
      description: '@connections endpoint',
    });
    new CfnOutput(this, 'HttpApiUrl', { value: issuerUrl, description: 'Token endpoint and JWKS' });

    for (const fn of [connect, disconnect, message, token, rotation, management]) {
      acknowledge(
        fn,
        'AwsSolutions-L1',
        'Node.js 22 is the runtime streamgate targets and tests; upgrades are deliberate.',
      );
    }
  }

  /** `@connections` on this stage only, for a function that posts frames. */
  private grantPosting(fn: StreamgateFunction, stageName: string): void {
    this.stage.grantManagementApiAccess(fn);
    acknowledge(
      fn.role as Construct,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${this.getLogicalId(this.webSocketApi.node.defaultChild as CfnElement)}>/${stageName}/*/@connections/*]`,
      '@connections on this stage only; connection ids are not known ahead.',
    );
  }

  /**
   * CloudFront in front of the stage. API Gateway answers only at the stage URL, so a viewer-request
   * function moves the path (`/chats/1.0.0/rooms/room1`) into `?target=`; the origin path adds the
   * stage. Authorization and the WebSocket headers reach the origin; the Host header must not.
   */
  private addEdge(): string {
    const rewrite = new cloudfront.Function(this, 'EdgeRewrite', {
      code: cloudfront.FunctionCode.fromFile({ filePath: path.join(HERE, 'edge', 'viewer-request.js') }),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      comment: 'Carry WSO2-style WebSocket paths to the API Gateway stage as ?target=',
    });
    const distribution = new cloudfront.Distribution(this, 'Edge', {
      comment: 'streamgate WebSocket edge',
      defaultBehavior: {
        origin: new HttpOrigin(`${this.webSocketApi.apiId}.execute-api.${this.region}.${this.urlSuffix}`, {
          originPath: `/${this.stage.stageName}`,
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        functionAssociations: [{ function: rewrite, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
    });
    const edgeUrl = `wss://${distribution.distributionDomainName}`;
    new CfnOutput(this, 'EdgeUrl', {
      value: edgeUrl,
      description: 'WSO2-style URLs: wss://<edge>/<context>/<version>/<topic>',
    });
    acknowledge(
      distribution,
      'AwsSolutions-CFR1',
      'Streaming APIs are offered worldwide; restrict per deployment if needed.',
    );
    acknowledge(
      distribution,
      'AwsSolutions-CFR2',
      'WAF is a per-deployment choice (cost); tokens are verified at $connect and the stage is throttled.',
    );
    acknowledge(
      distribution,
      'AwsSolutions-CFR3',
      'Connections are logged by the API Gateway stage access log behind this distribution.',
    );
    acknowledge(
      distribution,
      'AwsSolutions-CFR4',
      'The default *.cloudfront.net certificate cannot pin TLS 1.2; attach a custom domain to enforce it.',
    );
    return edgeUrl;
  }
}

/** Record why a cdk-nag finding is accepted (cdk-nag v3: CDK's own validation acknowledgements). */
export function acknowledge(scope: Construct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * Item-level access only: every read is a GetItem or a Query on a key, so no function may Scan
 * (CDK's grantReadData would allow it).
 */
function grantItems(table: Table, fn: StreamgateFunction, access: 'read' | 'readwrite'): void {
  const read = [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:ConditionCheckItem',
    'dynamodb:DescribeTable',
  ];
  const write = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
  table.grant(fn, ...read, ...(access === 'readwrite' ? write : []));
}

function accessLogFormat(kind: 'http' | 'websocket'): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      requestTime: '$context.requestTime',
      routeKey: '$context.routeKey',
      status: '$context.status',
      integrationError: '$context.integrationErrorMessage',
      ...(kind === 'websocket'
        ? { connectionId: '$context.connectionId', eventType: '$context.eventType' }
        : { method: '$context.httpMethod', path: '$context.path', latencyMs: '$context.responseLatency' }),
    }),
  );
}

function retentionOf(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number' && v > 0);
  const match = allowed.sort((a, b) => a - b).find((v) => v >= days);
  return (match ?? RetentionDays.TEN_YEARS) as RetentionDays;
}

/**
 * The batching window each Kafka topic's mapping gets from its channels. A topic has one mapping, so
 * channels reading it must not ask for different windows.
 */
export function batchingWindows(catalog: Catalog): Record<string, number> {
  const windows: Record<string, { seconds: number; channel: string }> = {};
  for (const api of catalog.apis) {
    for (const channel of api.channels) {
      const backend = channel.backend;
      if (backend.type !== 'kafka' || backend.batchingWindowSeconds === undefined) continue;
      const name = `${api.id} ${channel.name}`;
      const earlier = windows[backend.topic];
      if (earlier && earlier.seconds !== backend.batchingWindowSeconds) {
        throw new Error(
          `Kafka topic ${backend.topic}: ${earlier.channel} asks for a ${earlier.seconds} s batching window and ${name} for ${backend.batchingWindowSeconds} s; one topic has one event source mapping, so they must agree`,
        );
      }
      windows[backend.topic] = { seconds: backend.batchingWindowSeconds, channel: name };
    }
  }
  return Object.fromEntries(Object.entries(windows).map(([topic, w]) => [topic, w.seconds]));
}
