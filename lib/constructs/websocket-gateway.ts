import { type CfnElement, CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnIntegration,
  CfnIntegrationResponse,
  CfnRoute,
  CfnRouteResponse,
  LogGroupLogDestination,
  WebSocketApi,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { IssuerConfig } from '../../lambdas/core/auth.ts';
import type { Catalog } from '../../lambdas/core/catalog.ts';
import { CONTROL_ACTIONS } from '../../lambdas/core/control.ts';
import { type ConnectionRateConfig, DEFAULT_CONNECTION_RATE } from '../../lambdas/core/frame-rate.ts';
import { accessLogFormat } from './logging.ts';
import { acknowledge } from './nag.ts';
import { StackArea } from './stack-area.ts';
import { StreamgateFunction } from './streamgate-function.ts';
import type { StreamgateTables } from './tables.ts';

/**
 * The heartbeat: a client sends `{"action":"ping"}` and API Gateway itself answers `{"type":"pong"}`
 * (a MOCK integration with a route response: no Lambda runs, nothing is published). It keeps a quiet
 * connection open: API Gateway closes one after 10 minutes without a message either way, and
 * CloudFront closes one after 10 minutes without a byte from the origin — the pong is such a byte.
 * Sources: API Gateway WebSocket quotas (idle connection timeout 10 minutes,
 * docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html),
 * CloudFront quotas ("Origin response timeout (idle timeout)", 10 minutes, not adjustable,
 * docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html), WebSocket
 * integration responses (…/apigateway-websocket-api-integration-responses.html), 2026-11-30.
 * A ping is a message like any other for the stage throttle and the bill (one in, one out).
 */
export const HEARTBEAT = {
  routeKey: 'ping',
  request: '{"action":"ping"}',
  reply: '{"type":"pong"}',
} as const;

export interface WebSocketGatewayProps {
  /** The compiled API catalog, inlined into the functions. */
  readonly catalog: Catalog;
  /** The tables the functions read and write. */
  readonly tables: StreamgateTables;
  /** Trusted token issuers, the built-in one first. */
  readonly issuers: IssuerConfig[];
  /** The built-in issuer's URL: its tokens carry the application. */
  readonly builtinIssuer: string;
  /** How long the functions' (and access) logs are kept. */
  readonly logRetention: RetentionDays;
  /**
   * Name of the stage (the last part of the stage URL).
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * Steady-state and burst limits of the stage, in requests per second.
   * @default { rateLimit: 1000, burstLimit: 500 }
   */
  readonly throttle?: { rateLimit: number; burstLimit: number };
  /**
   * Partition keys per topic in the connection registry.
   * @default 4
   */
  readonly topicShards?: number;
  /**
   * Concurrent `@connections` calls per invocation.
   * @default 64
   */
  readonly deliveryConcurrency?: number;
  /**
   * Seconds a function reuses registry reads.
   * @default 5
   */
  readonly registryCacheSeconds?: number;
  /**
   * Seconds before a token with an unknown `kid` may refetch its issuer's JWKS.
   * @default 30
   */
  readonly jwksCooldownSeconds?: number;
  /**
   * Per-connection frame rate limit the message function enforces (config `connectionRate`).
   * @default 100 frames/s, burst 200, closed after 50 refused in a row, no per-application limit, exact
   */
  readonly connectionRate?: ConnectionRateConfig;
  /**
   * Set API Gateway's account-wide CloudWatch Logs role (WebSocket access logging needs one). The
   * setting is one per account and Region, shared by every API there: the role and the setting are
   * retained by `cdk destroy` (as CDK's RestApi does by default), so the other APIs keep logging.
   * `false` leaves the account's setting alone: use it where the account already has a role (the
   * stage's access logs then use that one; without any, API Gateway refuses to create the stage:
   * "CloudWatch Logs role ARN must be set in account settings to enable logging").
   * @default true
   */
  readonly apiGatewayAccountRole?: boolean;
}

/**
 * The WebSocket API clients connect to: `$connect` authorizes and registers connections,
 * `$disconnect` forgets them, and `$default` with the control routes (`subscribe`, `unsubscribe`,
 * `publish`, chosen by `$request.body.action`) share the message function. A throttled stage with
 * access logs and detailed metrics; `@connections` on that stage only, for functions that post.
 */
export class WebSocketGateway extends StackArea {
  /** The WebSocket API (routes selected by `$request.body.action`). */
  readonly webSocketApi: WebSocketApi;
  /** The throttled stage clients connect to. */
  readonly stage: WebSocketStage;
  /** `$connect`: authorizes and registers connections. */
  readonly connectFunction: StreamgateFunction;
  /** `$disconnect`: forgets connections. */
  readonly disconnectFunction: StreamgateFunction;
  /** `$default` and the control routes. */
  readonly messageFunction: StreamgateFunction;
  private readonly tables: StreamgateTables;
  private readonly settings: { topicShards: string; builtinIssuer: string; registryCacheSeconds: string };
  private readonly deliveryConcurrency: string;

  constructor(scope: Construct, id: string, props: WebSocketGatewayProps) {
    super(scope, id);
    const { catalog, logRetention } = props;
    this.tables = props.tables;
    this.settings = {
      topicShards: String(props.topicShards ?? 4),
      builtinIssuer: props.builtinIssuer,
      registryCacheSeconds: String(props.registryCacheSeconds ?? 5),
    };
    this.deliveryConcurrency = String(props.deliveryConcurrency ?? 64);
    const stageName = props.stageName ?? 'prod';

    this.connectFunction = new StreamgateFunction(this, 'Connect', {
      handlerDir: 'connect',
      catalog,
      logRetention,
      environment: {
        tokenIssuers: Stack.of(this).toJsonString(props.issuers),
        jwksCooldownSeconds: String(props.jwksCooldownSeconds ?? 30),
      },
    });
    this.disconnectFunction = new StreamgateFunction(this, 'Disconnect', {
      handlerDir: 'disconnect',
      catalog,
      logRetention,
    });
    this.messageFunction = new StreamgateFunction(this, 'Message', {
      handlerDir: 'message',
      catalog,
      logRetention,
      environment: {
        deliveryConcurrency: this.deliveryConcurrency,
        connectionRate: JSON.stringify(props.connectionRate ?? DEFAULT_CONNECTION_RATE),
      },
    });
    for (const fn of this.gatewayFunctions) this.bindGatewayData(fn);

    this.webSocketApi = new WebSocketApi(this, 'WebSocketApi', {
      description: 'streamgate managed WebSocket APIs',
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: {
        integration: new WebSocketLambdaIntegration('ConnectIntegration', this.connectFunction),
      },
      disconnectRouteOptions: {
        integration: new WebSocketLambdaIntegration('DisconnectIntegration', this.disconnectFunction),
      },
    });
    const messageIntegration = new WebSocketLambdaIntegration('MessageIntegration', this.messageFunction);
    this.webSocketApi.addRoute('$default', { integration: messageIntegration });
    for (const action of CONTROL_ACTIONS)
      this.webSocketApi.addRoute(action, { integration: messageIntegration });
    this.addHeartbeatRoute();

    let accountRole: CfnAccount | undefined;
    if (props.apiGatewayAccountRole ?? true) {
      const role = new Role(this, 'ApiGatewayLoggingRole', {
        assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
        managedPolicies: [
          ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
        ],
      });
      accountRole = new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
      // Account-wide: deleting either on `cdk destroy` would stop every other API's logging.
      role.applyRemovalPolicy(RemovalPolicy.RETAIN);
      accountRole.applyRemovalPolicy(RemovalPolicy.RETAIN);
      acknowledge(
        role,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for the account-wide API Gateway logging role.',
      );
    }
    const logs = new LogGroup(this, 'WebSocketAccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName,
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 1000, burstLimit: 500 },
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(logs),
        format: accessLogFormat('websocket'),
      },
    });
    if (accountRole) this.stage.node.addDependency(accountRole);

    // The message function answers senders and delivers what they publish.
    this.grantPosting(this.messageFunction);
    acknowledge(
      this.webSocketApi,
      'AwsSolutions-APIG4',
      'The $connect function authorizes every connection (JWT, tenant, scopes, plan); the other routes only run on connections it accepted.',
    );

    new CfnOutput(this, 'WebSocketUrl', {
      value: this.stage.url,
      description: 'Stage URL (target in ?target=)',
    });
    new CfnOutput(this, 'CallbackUrl', {
      value: this.stage.callbackUrl,
      description: '@connections endpoint',
    });
  }

  /**
   * `ping`, answered by API Gateway (HEARTBEAT): a MOCK integration whose request template gives
   * the status code and whose `$default` integration response is the pong, sent back through the
   * route's `$default` route response. L1 resources: the L2 MOCK integration has no integration
   * responses.
   */
  private addHeartbeatRoute(): void {
    const apiId = this.webSocketApi.apiId;
    const integration = new CfnIntegration(this, 'PingIntegration', {
      apiId,
      integrationType: 'MOCK',
      requestTemplates: { $default: '{"statusCode": 200}' },
      templateSelectionExpression: '\\$default',
      description: 'Heartbeat: answered by API Gateway, no Lambda',
    });
    new CfnIntegrationResponse(this, 'PingIntegrationResponse', {
      apiId,
      integrationId: integration.ref,
      integrationResponseKey: '$default',
      responseTemplates: { $default: HEARTBEAT.reply },
      templateSelectionExpression: '\\$default',
    });
    const route = new CfnRoute(this, 'PingRoute', {
      apiId,
      routeKey: HEARTBEAT.routeKey,
      target: `integrations/${integration.ref}`,
      routeResponseSelectionExpression: '$default',
    });
    new CfnRouteResponse(this, 'PingRouteResponse', {
      apiId,
      routeId: route.ref,
      routeResponseKey: '$default',
    });
    acknowledge(
      route,
      'AwsSolutions-APIG4',
      'The heartbeat runs only on connections the $connect function authorized, and reaches no backend.',
    );
  }

  /** `$connect`, `$disconnect` and the message function: they call channel handlers. */
  get gatewayFunctions(): StreamgateFunction[] {
    return [this.connectFunction, this.disconnectFunction, this.messageFunction];
  }

  /**
   * What every function on the gateway's data path reads: connections (read/write), the registry
   * (read only: subscriptions, plans), plan counters (read/write), the shard count, the built-in
   * issuer and the registry cache time.
   */
  bindGatewayData(fn: StreamgateFunction): void {
    this.tables.connections.bind(fn, 'readwrite');
    this.tables.registry.bind(fn, 'read');
    this.tables.throttle.bind(fn, 'readwrite');
    this.applySettings(fn);
  }

  /**
   * The gateway's settings for a function that reads connections and the registry with its own
   * grants: the shard count, the built-in issuer and the registry cache time.
   */
  applySettings(fn: StreamgateFunction): void {
    fn.setEnvironment(this.settings);
  }

  /**
   * Let `fn` post frames to connections: `@connections` on this stage only (connection ids are not
   * known ahead), its callback URL, and how many calls it may run at once.
   */
  grantPosting(fn: StreamgateFunction): void {
    this.stage.grantManagementApiAccess(fn);
    fn.setEnvironment({ callbackUrl: this.stage.callbackUrl, deliveryConcurrency: this.deliveryConcurrency });
    const stack = Stack.of(this);
    acknowledge(
      fn.role as Construct,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${stack.getLogicalId(this.webSocketApi.node.defaultChild as CfnElement)}>/${this.stage.stageName}/*/@connections/*]`,
      '@connections on this stage only; connection ids are not known ahead.',
    );
  }
}
