/**
 * Reads the synthesized CloudFormation template and gives the local runtime what AWS would build
 * from it: functions (code, handler, environment), WebSocket and HTTP APIs with their routes, tables,
 * secrets. Intrinsic functions are resolved against local physical names, and execute-api URLs are
 * pointed at the local gateway — the handlers see the environment CDK gave them, addressing the
 * local stack.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface CfnResource {
  Type: string;
  Properties?: Record<string, Json>;
  DependsOn?: string | string[];
  Metadata?: Record<string, Json>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: Json }>;
}

export interface LocalFunction {
  logicalId: string;
  name: string;
  arn: string;
  /** Absolute path of the bundle's folder (the asset). */
  codeDir: string;
  /** `index.handler` → file `index`, export `handler`. */
  handler: string;
  runtime: string;
  timeoutSeconds: number;
  memoryMb: number;
  environment: Record<string, string>;
}

export interface LocalRoute {
  routeKey: string;
  functionId: string | undefined;
  /** Two-way route: the integration's response body goes back to the client. */
  returnsResponse: boolean;
  authorizerFunctionId?: string;
  /**
   * A MOCK integration: API Gateway answers without a backend. `reply` is its `$default`
   * integration response template (static text), sent back when the route is two-way.
   */
  mock?: { reply: string | undefined };
}

export interface LocalWebSocketApi {
  logicalId: string;
  apiId: string;
  routeSelectionExpression: string;
  routes: Map<string, LocalRoute>;
  stageName: string;
  throttle?: { rateLimit: number; burstLimit: number };
}

export interface LocalHttpApi {
  logicalId: string;
  apiId: string;
  routes: { method: string; path: string; functionId: string | undefined; iam: boolean }[];
  throttle?: { rateLimit: number; burstLimit: number };
  /** The stage's `RouteSettings` throttles, by route key (`GET /.well-known/{document}`). */
  routeThrottles?: Record<string, { rateLimit: number; burstLimit: number }>;
}

export interface LocalTable {
  logicalId: string;
  name: string;
  keySchema: Json;
  attributeDefinitions: Json;
  globalSecondaryIndexes?: Json;
  ttlAttribute?: string;
}

export interface LocalSecret {
  logicalId: string;
  name: string;
  arn: string;
  generate?: { template?: string; key?: string };
  initialValue?: string;
  rotation?: { functionId: string; immediately: boolean };
}

/** Where the local stack serves what the template describes. */
export interface LocalEndpoints {
  /** e.g. `http://127.0.0.1:9099`: WebSocket API stages and @connections. */
  webSocketBase: string;
  /** e.g. `http://127.0.0.1:9090`: the HTTP API. */
  httpBase: string;
  /** e.g. `http://127.0.0.1:9091`: local AWS services (SQS queue URLs live here). */
  awsBase?: string;
  /** e.g. `localhost:8099`: the TLS gateway, which serves edge paths as CloudFront would. */
  edgeHost?: string;
}

export interface LocalEventSourceMapping {
  logicalId: string;
  functionId: string;
  topics: string[];
  batchSize: number;
  /** MaximumBatchingWindowInSeconds, in ms; MSK's default is 500 ms. */
  batchingWindowMs: number;
  startingPosition: 'LATEST' | 'TRIM_HORIZON';
  consumerGroupId: string;
  /** On-failure destination (a queue ARN), if any. */
  onFailureArn?: string;
  /** The MSK cluster the mapping reads (EventSourceArn), resolved. */
  clusterArn?: string;
  maximumRetryAttempts?: number;
}

export interface LocalQueue {
  logicalId: string;
  name: string;
  url: string;
  arn: string;
}

/** A custom resource as the local stack runs it (`local/custom-resources.ts`). */
export interface LocalCustomResource {
  logicalId: string;
  type: string;
  /** The function its ServiceToken names. */
  functionId: string;
  /** ResourceProperties as the function receives them (ServiceToken included, scalars as strings). */
  properties: Record<string, Json>;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

export class LocalTemplate {
  readonly resources: Record<string, CfnResource>;
  private readonly assetDirs: Map<string, string>;

  constructor(
    readonly template: CfnTemplate,
    readonly assemblyDir: string,
    readonly stackName: string,
    private readonly endpoints: LocalEndpoints,
  ) {
    this.resources = template.Resources;
    this.assetDirs = readAssetDirs(assemblyDir, stackName);
  }

  static load(assemblyDir: string, stackName: string, endpoints: LocalEndpoints): LocalTemplate {
    const file = path.join(assemblyDir, `${stackName}.template.json`);
    let template: CfnTemplate;
    try {
      template = JSON.parse(readFileSync(file, 'utf8')) as CfnTemplate;
    } catch (error) {
      throw new TemplateError(`cannot read the synthesized template ${file}: ${(error as Error).message}`);
    }
    return new LocalTemplate(template, assemblyDir, stackName, endpoints);
  }

  ofType(type: string): [string, CfnResource][] {
    return Object.entries(this.resources).filter(([, r]) => r.Type === type);
  }

  // ---------------------------------------------------------------------------------------------
  // Physical names and attributes, as the local stack names things.

  physicalId(logicalId: string): string {
    const resource = this.resources[logicalId];
    if (!resource) throw new TemplateError(`Ref to unknown resource ${logicalId}`);
    switch (resource.Type) {
      case 'AWS::SecretsManager::Secret':
        return this.secretArn(logicalId);
      case 'AWS::ApiGatewayV2::Api':
        return apiIdOf(logicalId);
      case 'AWS::SQS::Queue':
        return this.queueUrl(logicalId);
      default:
        return `${this.stackName}-${logicalId}`;
    }
  }

  attribute(logicalId: string, attribute: string): string {
    const resource = this.resources[logicalId];
    if (!resource) throw new TemplateError(`Fn::GetAtt of unknown resource ${logicalId}`);
    const name = this.physicalId(logicalId);
    switch (`${resource.Type}.${attribute}`) {
      case 'AWS::Lambda::Function.Arn':
        return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;
      case 'AWS::DynamoDB::Table.Arn':
        return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${name}`;
      case 'AWS::DynamoDB::Table.StreamArn':
        return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${name}/stream/local`;
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${name}`;
      case 'AWS::Logs::LogGroup.Arn':
        return `arn:aws:logs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:log-group:${name}:*`;
      case 'AWS::SQS::Queue.Arn':
        return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${this.queueName(logicalId)}`;
      case 'AWS::SQS::Queue.QueueName':
        return this.queueName(logicalId);
      case 'AWS::SQS::Queue.QueueUrl':
        return this.queueUrl(logicalId);
      case 'AWS::MSK::ServerlessCluster.Arn':
      case 'AWS::MSK::Cluster.Arn':
        return this.mskClusterArn(logicalId);
      case 'AWS::ApiGatewayV2::Api.ApiEndpoint': {
        const protocol = (resource.Properties?.ProtocolType as string) === 'WEBSOCKET' ? 'wss' : 'https';
        return `${protocol}://${name}.execute-api.${LOCAL_REGION}.amazonaws.com`;
      }
      case 'AWS::ApiGatewayV2::Api.ApiId':
        return name;
      case 'AWS::CloudFront::Distribution.DomainName':
        return this.endpoints.edgeHost ?? 'localhost';
      case 'AWS::CloudFront::Function.FunctionARN':
        return `arn:aws:cloudfront::${LOCAL_ACCOUNT}:function/${name}`;
      default:
        return `${name}.${attribute}`;
    }
  }

  /**
   * An MSK cluster's ARN as MSK forms it, `cluster/<cluster name>/<cluster uuid>`: the template's
   * ClusterName (else the logical id) and a UUID derived from the stack and logical id, so it stays
   * the same across restarts and topic/group ARNs built from it (IAM policies) name this cluster.
   */
  mskClusterArn(logicalId: string): string {
    const props = this.resources[logicalId]?.Properties ?? {};
    const name = typeof props.ClusterName === 'string' ? props.ClusterName : logicalId;
    const hex = createHash('sha256').update(`${this.stackName}/${logicalId}`).digest('hex');
    const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}-s1`;
    return `arn:aws:kafka:${LOCAL_REGION}:${LOCAL_ACCOUNT}:cluster/${name}/${uuid}`;
  }

  queueName(logicalId: string): string {
    return `${this.stackName}-${logicalId}`;
  }

  queueUrl(logicalId: string): string {
    const base = this.endpoints.awsBase ?? `https://sqs.${LOCAL_REGION}.amazonaws.com`;
    return `${base}/${LOCAL_ACCOUNT}/${this.queueName(logicalId)}`;
  }

  secretArn(logicalId: string): string {
    return `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${this.stackName}-${logicalId}`;
  }

  /** Resolve an intrinsic-function tree to a plain value. */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [fn] = keys as [string];
      const arg = value[fn] as Json;
      switch (fn) {
        case 'Ref':
          return this.ref(arg as string);
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? (arg as string[]) : (arg as string).split('.');
          return this.attribute(id as string, attr as string);
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, Json[]];
          return (this.resolve(parts) as Json[]).map(String).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [number, Json];
          return (this.resolve(list) as Json[])[Number(this.resolve(index))] ?? null;
        }
        case 'Fn::Split': {
          const [separator, text] = arg as [string, Json];
          return String(this.resolve(text)).split(separator);
        }
        case 'Fn::Sub':
          return this.sub(arg);
        case 'Fn::Base64':
          return Buffer.from(String(this.resolve(arg))).toString('base64');
        default:
          break;
      }
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }

  /** Resolve to a string, with execute-api URLs pointed at the local gateway. */
  resolveString(value: Json): string {
    return this.localize(String(this.resolve(value)));
  }

  localize(text: string): string {
    return text.replace(
      /(https|wss):\/\/([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com/g,
      (match, scheme: string, apiId: string) => {
        const api = this.ofType('AWS::ApiGatewayV2::Api').find(([id]) => apiIdOf(id) === apiId);
        if (!api) return match;
        if (api[1].Properties?.ProtocolType !== 'WEBSOCKET') return this.endpoints.httpBase;
        // wss:// is where clients connect (a stage URL), https:// where @connections is called.
        return scheme === 'wss'
          ? this.endpoints.webSocketBase.replace(/^http/, 'ws')
          : this.endpoints.webSocketBase;
      },
    );
  }

  private ref(name: string): string {
    switch (name) {
      case 'AWS::Region':
        return LOCAL_REGION;
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stack/${this.stackName}/local`;
      case 'AWS::NoValue':
        return '';
      default:
        return this.physicalId(name);
    }
  }

  private sub(arg: Json): string {
    const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, Json>]) : [arg as string, {}];
    return text.replace(/\$\{([^}!][^}]*)\}/g, (_, expr: string) => {
      if (vars && expr in vars) return String(this.resolve(vars[expr] as Json));
      const dot = expr.indexOf('.');
      if (dot > 0 && !expr.startsWith('AWS::'))
        return this.attribute(expr.slice(0, dot), expr.slice(dot + 1));
      return this.ref(expr);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // What the local stack runs.

  functions(): LocalFunction[] {
    return this.ofType('AWS::Lambda::Function').map(([logicalId, resource]) => {
      const props = resource.Properties ?? {};
      const code = props.Code as { S3Key?: Json } | undefined;
      const key = code?.S3Key ? String(this.resolve(code.S3Key)) : '';
      const hash = key.replace(/\.zip$/, '');
      const codeDir = this.assetDirs.get(hash);
      if (!codeDir)
        throw new TemplateError(`function ${logicalId}: no bundled asset for ${key || 'its code'}`);
      const variables = ((props.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ??
        {}) as Record<string, Json>;
      return {
        logicalId,
        name: this.physicalId(logicalId),
        arn: this.attribute(logicalId, 'Arn'),
        codeDir,
        handler: String(props.Handler ?? 'index.handler'),
        runtime: String(props.Runtime ?? ''),
        timeoutSeconds: Number(props.Timeout ?? 3),
        memoryMb: Number(props.MemorySize ?? 128),
        environment: Object.fromEntries(
          Object.entries(variables).map(([k, v]) => [k, this.resolveString(v)]),
        ),
      };
    });
  }

  /** The function an ARN (or an integration URI containing one) names. */
  functionIdOf(arnOrUri: Json): string | undefined {
    const text = String(this.resolve(arnOrUri));
    const match = /function:([^/:]+)/.exec(text);
    if (!match) return undefined;
    return this.ofType('AWS::Lambda::Function').find(([id]) => this.physicalId(id) === match[1])?.[0];
  }

  private integrationOf(target: Json | undefined): [string, CfnResource] | undefined {
    if (!target) return undefined;
    const integrationId = String(this.resolve(target)).replace(/^integrations\//, '');
    return this.ofType('AWS::ApiGatewayV2::Integration').find(
      ([id]) => this.physicalId(id) === integrationId,
    );
  }

  private integrationFunction(target: Json | undefined): string | undefined {
    const integration = this.integrationOf(target);
    return integration ? this.functionIdOf(integration[1].Properties?.IntegrationUri ?? '') : undefined;
  }

  /**
   * A route's MOCK integration, answered the way API Gateway answers it: the `$default` integration
   * response's template. Only static templates are served locally (no VTL): a template with `$`
   * references is refused at load rather than answered differently from AWS.
   */
  private mockOf(target: Json | undefined): LocalRoute['mock'] {
    const integration = this.integrationOf(target);
    if (integration?.[1].Properties?.IntegrationType !== 'MOCK') return undefined;
    const [logicalId] = integration;
    const response = this.ofType('AWS::ApiGatewayV2::IntegrationResponse').find(
      ([, r]) => (r.Properties?.IntegrationId as { Ref?: string } | undefined)?.Ref === logicalId,
    )?.[1];
    const templates = (response?.Properties?.ResponseTemplates ?? {}) as Record<string, Json>;
    const reply = templates.$default === undefined ? undefined : String(templates.$default);
    if (reply?.includes('$'))
      throw new TemplateError(
        `MOCK integration ${logicalId}: the local gateway serves static response templates only`,
      );
    return { reply };
  }

  private stageOf(apiLogicalId: string): CfnResource | undefined {
    return this.ofType('AWS::ApiGatewayV2::Stage').find(
      ([, stage]) => (stage.Properties?.ApiId as { Ref?: string } | undefined)?.Ref === apiLogicalId,
    )?.[1];
  }

  private routesOf(apiLogicalId: string): CfnResource[] {
    return this.ofType('AWS::ApiGatewayV2::Route')
      .filter(([, route]) => (route.Properties?.ApiId as { Ref?: string } | undefined)?.Ref === apiLogicalId)
      .map(([, route]) => route);
  }

  webSocketApis(): LocalWebSocketApi[] {
    return this.ofType('AWS::ApiGatewayV2::Api')
      .filter(([, api]) => api.Properties?.ProtocolType === 'WEBSOCKET')
      .map(([logicalId, api]) => {
        const stage = this.stageOf(logicalId);
        if (!stage) throw new TemplateError(`WebSocket API ${logicalId} has no stage`);
        const routes = new Map<string, LocalRoute>();
        for (const route of this.routesOf(logicalId)) {
          const props = route.Properties ?? {};
          const authorizer = props.AuthorizerId
            ? this.ofType('AWS::ApiGatewayV2::Authorizer').find(
                ([id]) => this.physicalId(id) === String(this.resolve(props.AuthorizerId as Json)),
              )
            : undefined;
          const authorizerFunctionId = authorizer
            ? this.functionIdOf(authorizer[1].Properties?.AuthorizerUri ?? '')
            : undefined;
          const mock = this.mockOf(props.Target);
          routes.set(String(props.RouteKey), {
            routeKey: String(props.RouteKey),
            functionId: this.integrationFunction(props.Target),
            returnsResponse: props.RouteResponseSelectionExpression !== undefined,
            ...(authorizerFunctionId ? { authorizerFunctionId } : {}),
            ...(mock ? { mock } : {}),
          });
        }
        return {
          logicalId,
          apiId: apiIdOf(logicalId),
          routeSelectionExpression: String(
            api.Properties?.RouteSelectionExpression ?? '$request.body.action',
          ),
          routes,
          stageName: String(stage.Properties?.StageName ?? '$default'),
          ...throttleOf(stage),
        };
      });
  }

  httpApis(): LocalHttpApi[] {
    return this.ofType('AWS::ApiGatewayV2::Api')
      .filter(([, api]) => api.Properties?.ProtocolType === 'HTTP')
      .map(([logicalId]) => {
        const stage = this.stageOf(logicalId);
        return {
          logicalId,
          apiId: apiIdOf(logicalId),
          routes: this.routesOf(logicalId).map((route) => {
            const key = String(route.Properties?.RouteKey ?? '$default');
            const [method, routePath] =
              key === '$default' ? ['ANY', '$default'] : (key.split(' ') as [string, string]);
            return {
              method,
              path: routePath,
              functionId: this.integrationFunction(route.Properties?.Target),
              iam: route.Properties?.AuthorizationType === 'AWS_IAM',
            };
          }),
          ...(stage ? throttleOf(stage) : {}),
          ...(stage ? routeThrottlesOf(stage) : {}),
        };
      });
  }

  tables(): LocalTable[] {
    return this.ofType('AWS::DynamoDB::Table').map(([logicalId, table]) => {
      const props = table.Properties ?? {};
      const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
      return {
        logicalId,
        name: this.physicalId(logicalId),
        keySchema: props.KeySchema ?? [],
        attributeDefinitions: props.AttributeDefinitions ?? [],
        ...(props.GlobalSecondaryIndexes ? { globalSecondaryIndexes: props.GlobalSecondaryIndexes } : {}),
        ...(ttl?.Enabled && ttl.AttributeName ? { ttlAttribute: ttl.AttributeName } : {}),
      };
    });
  }

  secrets(): LocalSecret[] {
    const schedules = this.ofType('AWS::SecretsManager::RotationSchedule');
    return this.ofType('AWS::SecretsManager::Secret').map(([logicalId, secret]) => {
      const props = secret.Properties ?? {};
      const generate = props.GenerateSecretString as
        | { SecretStringTemplate?: string; GenerateStringKey?: string }
        | undefined;
      const schedule = schedules.find(
        ([, s]) => (s.Properties?.SecretId as { Ref?: string } | undefined)?.Ref === logicalId,
      )?.[1];
      const functionId = schedule
        ? this.functionIdOf(schedule.Properties?.RotationLambdaARN ?? '')
        : undefined;
      return {
        logicalId,
        name: `${this.stackName}-${logicalId}`,
        arn: this.secretArn(logicalId),
        ...(generate
          ? {
              generate: {
                ...(generate.SecretStringTemplate ? { template: generate.SecretStringTemplate } : {}),
                ...(generate.GenerateStringKey ? { key: generate.GenerateStringKey } : {}),
              },
            }
          : {}),
        ...(typeof props.SecretString === 'string' ? { initialValue: props.SecretString } : {}),
        ...(functionId
          ? {
              rotation: {
                functionId,
                immediately: schedule?.Properties?.RotateImmediatelyOnUpdate !== false,
              },
            }
          : {}),
      };
    });
  }

  queues(): LocalQueue[] {
    return this.ofType('AWS::SQS::Queue').map(([logicalId]) => ({
      logicalId,
      name: this.queueName(logicalId),
      url: this.queueUrl(logicalId),
      arn: this.attribute(logicalId, 'Arn'),
    }));
  }

  /** Kafka event source mappings (MSK or self-managed), as the local poller runs them. */
  eventSourceMappings(): LocalEventSourceMapping[] {
    return this.ofType('AWS::Lambda::EventSourceMapping')
      .filter(([, m]) => Array.isArray(m.Properties?.Topics))
      .map(([logicalId, mapping]) => {
        const props = mapping.Properties ?? {};
        const functionId = this.functionIdOf({
          'Fn::GetAtt': [String((props.FunctionName as { Ref?: string })?.Ref), 'Arn'],
        });
        if (!functionId) throw new TemplateError(`event source mapping ${logicalId}: unknown function`);
        const group =
          (props.AmazonManagedKafkaEventSourceConfig as { ConsumerGroupId?: string } | undefined)
            ?.ConsumerGroupId ??
          (props.SelfManagedKafkaEventSourceConfig as { ConsumerGroupId?: string } | undefined)
            ?.ConsumerGroupId;
        const onFailure = (props.DestinationConfig as { OnFailure?: { Destination?: Json } } | undefined)
          ?.OnFailure?.Destination;
        return {
          logicalId,
          functionId,
          topics: props.Topics as string[],
          batchSize: Number(props.BatchSize ?? 100),
          batchingWindowMs:
            props.MaximumBatchingWindowInSeconds === undefined
              ? 500
              : Number(props.MaximumBatchingWindowInSeconds) * 1000,
          startingPosition: props.StartingPosition === 'TRIM_HORIZON' ? 'TRIM_HORIZON' : 'LATEST',
          consumerGroupId: group ?? logicalId,
          ...(props.EventSourceArn === undefined
            ? {}
            : { clusterArn: String(this.resolve(props.EventSourceArn)) }),
          ...(onFailure ? { onFailureArn: String(this.resolve(onFailure)) } : {}),
          ...(props.MaximumRetryAttempts !== undefined
            ? { maximumRetryAttempts: Number(props.MaximumRetryAttempts) }
            : {}),
        };
      });
  }

  /**
   * Custom resources (`Custom::*`, `AWS::CloudFormation::CustomResource`) backed by a function of
   * the template, in template order, with their properties as CloudFormation delivers them: resolved,
   * and every scalar turned into a string
   * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html).
   */
  customResources(): LocalCustomResource[] {
    return Object.entries(this.resources)
      .filter(([, r]) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')
      .map(([logicalId, resource]) => {
        const props = resource.Properties ?? {};
        const functionId = this.functionIdOf(props.ServiceToken ?? '');
        if (!functionId)
          throw new TemplateError(
            `custom resource ${logicalId}: its ServiceToken is not a function of the template`,
          );
        return {
          logicalId,
          type: resource.Type,
          functionId,
          properties: stringScalars(this.resolve(props)) as Record<string, Json>,
        };
      });
  }

  /** CloudFront Functions attached to viewer requests, as source code. */
  viewerRequestFunctions(): string[] {
    return this.ofType('AWS::CloudFront::Function').map(([, fn]) =>
      String(fn.Properties?.FunctionCode ?? ''),
    );
  }
}

/** CloudFormation hands custom resources every number and boolean as a string. */
function stringScalars(value: Json): Json {
  if (Array.isArray(value)) return value.map(stringScalars);
  if (value === null || typeof value !== 'object') return value === null ? value : String(value);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stringScalars(v)]));
}

function throttleOf(stage: CfnResource): { throttle?: { rateLimit: number; burstLimit: number } } {
  const settings = stage.Properties?.DefaultRouteSettings as
    | { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number }
    | undefined;
  if (settings?.ThrottlingRateLimit === undefined || settings.ThrottlingBurstLimit === undefined) return {};
  return { throttle: { rateLimit: settings.ThrottlingRateLimit, burstLimit: settings.ThrottlingBurstLimit } };
}

function routeThrottlesOf(stage: CfnResource): Pick<LocalHttpApi, 'routeThrottles'> {
  const settings = (stage.Properties?.RouteSettings ?? {}) as Record<
    string,
    { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number }
  >;
  const entries = Object.entries(settings).flatMap(([key, s]) =>
    s.ThrottlingRateLimit === undefined || s.ThrottlingBurstLimit === undefined
      ? []
      : [[key, { rateLimit: s.ThrottlingRateLimit, burstLimit: s.ThrottlingBurstLimit }] as const],
  );
  return entries.length ? { routeThrottles: Object.fromEntries(entries) } : {};
}

/** A stable, AWS-looking API id (10 lower-case alphanumerics) per logical id. */
export function apiIdOf(logicalId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < logicalId.length; i++) hash = Math.imul(hash ^ logicalId.charCodeAt(i), 0x01000193);
  return `l${(hash >>> 0).toString(36).padStart(7, '0')}oc`.slice(0, 10);
}

function readAssetDirs(assemblyDir: string, stackName: string): Map<string, string> {
  const dirs = new Map<string, string>();
  try {
    const manifest = JSON.parse(readFileSync(path.join(assemblyDir, `${stackName}.assets.json`), 'utf8')) as {
      files?: Record<string, { source?: { path?: string } }>;
    };
    for (const [hash, file] of Object.entries(manifest.files ?? {})) {
      if (file.source?.path) dirs.set(hash, path.join(assemblyDir, file.source.path));
    }
  } catch (error) {
    throw new TemplateError(`cannot read the asset manifest of ${stackName}: ${(error as Error).message}`);
  }
  return dirs;
}
