import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ManagementApi } from '../../lib/constructs/management-api.ts';
import { catalog, gatewayStack, logRetention, statementsOf, variablesOf } from './construct-fixtures.ts';

function managementStack(edgeUrl?: string) {
  const { stack, tables, gateway, httpApi } = gatewayStack();
  new ManagementApi(stack, 'Management', {
    catalog,
    httpApi: httpApi(),
    tables,
    gateway,
    tokenUrl: 'https://issuer/oauth2/token',
    logRetention,
    ...(edgeUrl ? { edgeUrl } : {}),
  });
  return Template.fromStack(stack);
}

describe('ManagementApi', () => {
  it('authorizes administration routes with IAM and leaves application self-service to client credentials', () => {
    const routes = Object.values(managementStack().findResources('AWS::ApiGatewayV2::Route')).map((r) => [
      r.Properties.RouteKey,
      r.Properties.AuthorizationType ?? 'NONE',
    ]);
    expect(routes).toContainEqual(['ANY /admin/{proxy+}', 'AWS_IAM']);
    expect(routes).toContainEqual(['GET /applications/{proxy+}', 'NONE']);
  });

  it('changes the registry and plan counters, and delivers on the gateway’s connections', () => {
    const template = managementStack();
    const statements = statementsOf(template, 'ManagementManagementRole');
    const onRegistry = statements.filter((s) => JSON.stringify(s.Resource).includes('RegistryTable'));
    expect(JSON.stringify(onRegistry)).toMatch(/PutItem/);
    expect(JSON.stringify(statements)).toContain('execute-api:ManageConnections');
    expect(variablesOf(template, 'management')).toMatchObject({
      REGISTRY_TABLE: expect.anything(),
      THROTTLE_TABLE: expect.anything(),
      CONNECTIONS_TABLE: expect.anything(),
      TOPIC_SHARDS: '4',
      BUILTIN_ISSUER: 'https://issuer',
      REGISTRY_CACHE_SECONDS: '5',
      CALLBACK_URL: expect.anything(),
      DELIVERY_CONCURRENCY: '64',
      WEBSOCKET_STAGE_URL: expect.anything(),
      TOKEN_URL: 'https://issuer/oauth2/token',
    });
  });

  it('names the edge URL only when there is an edge', () => {
    expect(variablesOf(managementStack(), 'management').WEBSOCKET_EDGE_URL).toBeUndefined();
    expect(variablesOf(managementStack('wss://edge'), 'management').WEBSOCKET_EDGE_URL).toBe('wss://edge');
  });

  it('offers backends a managed policy for the publish route only', () => {
    const template = managementStack();
    const resource = new Capture();
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: resource }] },
    });
    expect(JSON.stringify(resource.asObject())).toMatch(
      /\/\$default\/POST\/admin\/tenants\/\*\/apis\/\*\/\*\/publish"/,
    );
    template.hasOutput('*', { Value: { Ref: Match.stringLikeRegexp('BackendPublishPolicy') } });
  });
});
