import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  expectRegistryReadOnlyPlansCounted,
  gatewayStack,
  PROD_STAGE,
  statementsOf,
  testFunction,
  variablesOf,
  WEBSOCKET_ROUTE_KEYS,
} from './construct-fixtures.ts';

describe('WebSocketGateway', () => {
  it('routes $connect, $disconnect, $default and the control actions, the message routes to one integration', () => {
    const { stack } = gatewayStack();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(WEBSOCKET_ROUTE_KEYS);
    const message = routes.filter(
      (r) => !['$connect', '$disconnect', 'ping'].includes(r.Properties.RouteKey),
    );
    expect(new Set(message.map((r) => JSON.stringify(r.Properties.Target))).size).toBe(1);
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 4);
  });

  it('answers {"action":"ping"} with {"type":"pong"} from API Gateway itself: a MOCK integration, no Lambda', () => {
    const { stack } = gatewayStack();
    const template = Template.fromStack(stack);
    const integration = new Capture();
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'ping',
      RouteResponseSelectionExpression: '$default',
      Target: { 'Fn::Join': ['', ['integrations/', { Ref: integration }]] },
    });
    expect(template.toJSON().Resources[integration.asString()]).toMatchObject({
      Type: 'AWS::ApiGatewayV2::Integration',
      Properties: {
        IntegrationType: 'MOCK',
        RequestTemplates: { $default: '{"statusCode": 200}' },
        TemplateSelectionExpression: '\\$default',
      },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::IntegrationResponse', {
      IntegrationId: { Ref: integration.asString() },
      IntegrationResponseKey: '$default',
      ResponseTemplates: { $default: '{"type":"pong"}' },
    });
    const routeId = Object.keys(
      template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: 'ping' } }),
    )[0];
    template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
      RouteId: { Ref: routeId },
      RouteResponseKey: '$default',
    });
  });

  it('deploys the stage with its defaults: prod, 1000/500 requests per second, access logs, detailed metrics, after the account role', () => {
    const { stack } = gatewayStack();
    const template = Template.fromStack(stack);
    template.hasResource('AWS::ApiGatewayV2::Stage', {
      Properties: PROD_STAGE,
      DependsOn: [Match.stringLikeRegexp('ApiGatewayAccount')],
    });
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  it('keeps the account-wide logging role and setting on destroy (other APIs of the account use them)', () => {
    const { stack } = gatewayStack();
    const template = Template.fromStack(stack);
    const role = new Capture();
    template.hasResource('AWS::ApiGateway::Account', {
      Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': [role, 'Arn'] } },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(template.toJSON().Resources[role.asString()]).toMatchObject({
      Type: 'AWS::IAM::Role',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('leaves the account role alone when told to', () => {
    const { stack } = gatewayStack({ apiGatewayAccountRole: false, stageName: 'live' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: 'live' });
  });

  it('tells $connect the trusted issuers, the JWKS cooldown and the gateway settings', () => {
    const { stack } = gatewayStack({ jwksCooldownSeconds: 45, registryCacheSeconds: 9, topicShards: 2 });
    const issuers = new Capture();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'connect',
          TOKEN_ISSUERS: issuers,
          JWKS_COOLDOWN_SECONDS: '45',
          REGISTRY_CACHE_SECONDS: '9',
          TOPIC_SHARDS: '2',
          BUILTIN_ISSUER: 'https://issuer',
          CONNECTIONS_TABLE: { Ref: Match.stringLikeRegexp('ConnectionsTable') },
          REGISTRY_TABLE: { Ref: Match.stringLikeRegexp('RegistryTable') },
          THROTTLE_TABLE: { Ref: Match.stringLikeRegexp('ThrottleTable') },
        }),
      },
    });
    expect(JSON.parse(issuers.asString())).toEqual([
      { issuer: 'https://issuer', jwksUri: 'https://issuer/jwks', audience: 'streamgate' },
    ]);
  });

  it('lets the gateway functions read the registry and count against plans, never change the registry', () => {
    const { stack } = gatewayStack();
    const template = Template.fromStack(stack);
    for (const role of ['GatewayConnectRole', 'GatewayDisconnectRole', 'GatewayMessageRole']) {
      expectRegistryReadOnlyPlansCounted(statementsOf(template, role));
    }
  });

  it('grants posting on this stage only, with the callback URL and the delivery concurrency', () => {
    const { stack, gateway } = gatewayStack({ deliveryConcurrency: 16 });
    gateway.grantPosting(testFunction(stack, 'Poster', 'fanout'));
    const template = Template.fromStack(stack);
    for (const [role, service] of [
      ['PosterRole', 'fanout'],
      ['GatewayMessageRole', 'message'],
    ] as const) {
      const posting = statementsOf(template, role).filter((s) =>
        JSON.stringify(s.Action).includes('execute-api:ManageConnections'),
      );
      expect(posting).toHaveLength(1);
      expect(JSON.stringify(posting[0]?.Resource)).toMatch(/\/prod\/\*\/@connections\/\*/);
      expect(variablesOf(template, service)).toMatchObject({
        CALLBACK_URL: expect.anything(),
        DELIVERY_CONCURRENCY: '16',
      });
    }
    expect(JSON.stringify(statementsOf(template, 'GatewayConnectRole'))).not.toContain('ManageConnections');
  });

  it('tells the message function its frame rate limit (default and configured)', () => {
    const defaults = Template.fromStack(gatewayStack().stack);
    expect(JSON.parse(String(variablesOf(defaults, 'message').CONNECTION_RATE))).toEqual({
      framesPerSecond: 100,
      burst: 200,
      closeAfterRefused: 50,
      applicationFramesPerSecond: 0,
      exact: true,
    });
    const rate = {
      framesPerSecond: 5,
      burst: 10,
      closeAfterRefused: 0,
      applicationFramesPerSecond: 50,
      exact: false,
    };
    const configured = Template.fromStack(gatewayStack({ connectionRate: rate }).stack);
    expect(JSON.parse(String(variablesOf(configured, 'message').CONNECTION_RATE))).toEqual(rate);
  });
});
