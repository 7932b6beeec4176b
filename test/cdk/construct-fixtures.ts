/**
 * What the per-construct tests build on: a stack that skips bundling (construct tests assert on
 * resources, not on bundles; stack.test.ts bundles the real app), a small catalog, and the areas a
 * construct depends on.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { expect } from 'vitest';
import type { Catalog } from '../../lambdas/core/catalog.ts';
import { DEFAULT_CONFIG } from '../../lib/config.ts';
import {
  StreamgateFunction,
  VPC_NETWORK_INTERFACE_ACTIONS,
} from '../../lib/constructs/streamgate-function.ts';
import { StreamgateTables } from '../../lib/constructs/tables.ts';
import { WebSocketGateway, type WebSocketGatewayProps } from '../../lib/constructs/websocket-gateway.ts';
import { api, channel } from '../helpers/catalog.ts';

export const logRetention = RetentionDays.ONE_MONTH;

/** The WebSocket stage as deployed by default: prod, 1000/500 requests per second, JSON access logs, detailed metrics. */
export const PROD_STAGE = {
  StageName: 'prod',
  AutoDeploy: true,
  DefaultRouteSettings: {
    ThrottlingRateLimit: 1000,
    ThrottlingBurstLimit: 500,
    DetailedMetricsEnabled: true,
  },
  AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('connectionId') },
};

/** The WebSocket API's route keys, sorted: the three API Gateway routes, the heartbeat and the control actions. */
export const WEBSOCKET_ROUTE_KEYS = [
  '$connect',
  '$default',
  '$disconnect',
  'ping',
  'publish',
  'subscribe',
  'unsubscribe',
];

export const catalog: Catalog = {
  apis: [
    api({
      name: 'Chats',
      context: '/chats',
      channels: [
        channel('/rooms/{roomID}'),
        channel('/echo', { backend: { type: 'handler', handler: 'examples/echo' } }),
      ],
    }),
  ],
};

/** A stack of its own, bundling skipped. */
export function testStack(): Stack {
  return new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');
}

/** A function of the house construct, for constructs that take one. */
export function testFunction(stack: Stack, id = 'Fn', handlerDir = 'disconnect'): StreamgateFunction {
  return new StreamgateFunction(stack, id, { handlerDir, catalog, logRetention });
}

/** The tables and a gateway on them (what the handler, management and edge constructs need). */
export function gatewayStack(props: Partial<WebSocketGatewayProps> = {}) {
  const stack = testStack();
  const tables = new StreamgateTables(stack, 'Tables');
  const gateway = new WebSocketGateway(stack, 'Gateway', {
    catalog,
    tables,
    issuers: [{ issuer: 'https://issuer', jwksUri: 'https://issuer/jwks', audience: 'streamgate' }],
    builtinIssuer: 'https://issuer',
    logRetention,
    ...props,
  });
  return {
    stack,
    tables,
    gateway,
    httpApi: () => new HttpApi(stack, 'HttpApi', { createDefaultStage: false }),
  };
}

/** The variables of the one function whose POWERTOOLS_SERVICE_NAME is `service`. */
export function variablesOf(template: Template, service: string): Record<string, unknown> {
  const found = Object.values(template.findResources('AWS::Lambda::Function')).filter(
    (fn) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service,
  );
  if (found.length !== 1) throw new Error(`${found.length} functions named ${service}`);
  return found[0]?.Properties.Environment.Variables;
}

/** The policy statements of the roles whose logical id starts with `rolePrefix`. */
export function statementsOf(
  template: Template,
  rolePrefix: string,
): { Action: unknown; Resource: unknown }[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((role) => role.Ref.startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** A gateway function's statements: it reads the registry (never changes it) and counts against plans. */
export function expectRegistryReadOnlyPlansCounted(statements: { Resource: unknown }[]): void {
  const on = (table: string) => statements.filter((s) => JSON.stringify(s.Resource).includes(table));
  expect(on('RegistryTable').length).toBeGreaterThan(0);
  expect(JSON.stringify(on('RegistryTable'))).not.toMatch(/PutItem|UpdateItem|DeleteItem|BatchWriteItem/);
  expect(JSON.stringify(on('ThrottleTable'))).toMatch(/UpdateItem/);
}

export { DEFAULT_CONFIG };

/**
 * Every function with a VpcConfig may manage network interfaces through its own role (the ec2 actions
 * of AWSLambdaVPCAccessExecutionRole, inline or as that managed policy), without which Lambda refuses
 * to create it ("…does not have permissions to call CreateNetworkInterface on EC2"). `atLeast`: how
 * many such functions the template must have (so the check cannot pass on none).
 */
export function expectVpcFunctionsManageInterfaces(template: Template, atLeast: number): void {
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties?: Record<string, unknown> }
  >;
  const inVpc = Object.entries(resources).filter(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties?.VpcConfig !== undefined,
  );
  expect(inVpc.length).toBeGreaterThanOrEqual(atLeast);
  for (const [id, fn] of inVpc) {
    const role = (fn.Properties?.Role ?? {}) as { 'Fn::GetAtt'?: [string] };
    const roleId = role['Fn::GetAtt']?.[0] as string;
    const managed = JSON.stringify(resources[roleId]?.Properties?.ManagedPolicyArns ?? []);
    const allowed = new Set(
      statementsOf(template, roleId)
        .filter((s) => JSON.stringify(s.Resource) === '"*"')
        .flatMap((s) => ([] as unknown[]).concat(s.Action)),
    );
    const canManage =
      managed.includes('service-role/AWSLambdaVPCAccessExecutionRole') ||
      VPC_NETWORK_INTERFACE_ACTIONS.every((action) => allowed.has(action));
    expect({ function: id, role: roleId, canManage }).toEqual({
      function: id,
      role: roleId,
      canManage: true,
    });
  }
}
