import { type CfnElement, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import { type HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { Catalog } from '../../lambdas/core/catalog.ts';
import { acknowledge } from './nag.ts';
import { StackArea } from './stack-area.ts';
import { StreamgateFunction } from './streamgate-function.ts';
import type { StreamgateTables } from './tables.ts';
import type { WebSocketGateway } from './websocket-gateway.ts';

export interface ManagementApiProps {
  /** The catalog, with the definitions as written (the function exports AsyncAPI documents). */
  readonly catalog: Catalog;
  /** The HTTP API that carries the routes (the token issuer's). */
  readonly httpApi: HttpApi;
  /** The tables the functions read and write. */
  readonly tables: StreamgateTables;
  /** Backends publish through this API: it delivers on the gateway's connections. */
  readonly gateway: WebSocketGateway;
  /** The token endpoint, for the AsyncAPI documents. */
  readonly tokenUrl: string;
  /** How long the functions' (and access) logs are kept. */
  readonly logRetention: RetentionDays;
  /**
   * The CloudFront edge URL (wss), for the AsyncAPI documents.
   * @default - no edge: documents name the stage URL only
   */
  readonly edgeUrl?: string;
}

/**
 * The management API on the HTTP API: administrators through IAM (SigV4) on `/admin/{proxy+}`,
 * applications with their own client credentials on `GET /applications/{proxy+}`. The function
 * changes the registry and plan counters and delivers backends' publications, and a managed policy
 * lets a backend's role call the publish route only.
 */
export class ManagementApi extends StackArea {
  /** The management API's function. */
  readonly managementFunction: StreamgateFunction;
  /** Attach to a backend role to let it publish to topics (`POST …/apis/{api}/{version}/publish`). */
  readonly backendPublishPolicy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: ManagementApiProps) {
    super(scope, id);
    const { httpApi, tables, gateway } = props;
    const fn = new StreamgateFunction(this, 'Management', {
      handlerDir: 'management',
      catalog: props.catalog,
      withDefinitions: true,
      logRetention: props.logRetention,
      timeout: Duration.seconds(15),
      environment: {
        webSocketStageUrl: gateway.stage.url,
        tokenUrl: props.tokenUrl,
        ...(props.edgeUrl ? { webSocketEdgeUrl: props.edgeUrl } : {}),
      },
    });
    this.managementFunction = fn;
    tables.registry.bind(fn, 'readwrite');
    tables.throttle.bind(fn, 'readwrite');
    // Backends publish through this API: it delivers like the gateway functions do.
    tables.connections.bind(fn, 'readwrite');
    gateway.applySettings(fn);
    gateway.grantPosting(fn);

    const integration = new HttpLambdaIntegration('ManagementIntegration', fn);
    httpApi.addRoutes({
      path: '/admin/{proxy+}',
      methods: [HttpMethod.ANY],
      integration,
      authorizer: new HttpIamAuthorizer(),
    });
    httpApi.addRoutes({ path: '/applications/{proxy+}', methods: [HttpMethod.GET], integration });

    this.backendPublishPolicy = new ManagedPolicy(this, 'BackendPublishPolicy', {
      description: 'Lets a backend publish frames to streamgate topics through the management API',
      statements: [
        new PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [httpApi.arnForExecuteApi('POST', '/admin/tenants/*/apis/*/*/publish', '$default')],
        }),
      ],
    });
    acknowledge(
      this.backendPublishPolicy,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${Stack.of(this).getLogicalId(httpApi.node.defaultChild as CfnElement)}>/$default/POST/admin/tenants/*/apis/*/*/publish]`,
      'The publish route of every tenant and API; attach to a backend role and narrow the ARN to restrict it to some APIs.',
    );
    new CfnOutput(this, 'BackendPublishPolicyArn', {
      value: this.backendPublishPolicy.managedPolicyArn,
      description: 'Attach to a backend role to let it publish to topics',
    });
  }
}
