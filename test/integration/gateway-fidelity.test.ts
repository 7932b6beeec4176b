import { cpSync, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketGateway } from '../../local/gateway/server.ts';
import { LambdaRuntime } from '../../local/lambda/runtime.ts';
import { LogSink } from '../../local/log.ts';
import { LocalTemplate } from '../../local/template.ts';
import { connect, json, refusal, stack } from './helpers.ts';

/**
 * The gateway emulator on a template of its own: a REQUEST authorizer on $connect, a two-way route,
 * a route key built with ${…} interpolation, and no $default route.
 */
const port = 19299;
let gateway: WebSocketGateway;
let lambda: LambdaRuntime;

function fn(handler: string) {
  return {
    Type: 'AWS::Lambda::Function',
    Properties: {
      Code: { S3Key: 'handlers.zip' },
      Handler: `handlers.${handler}`,
      Runtime: 'nodejs22.x',
      Timeout: 5,
    },
  };
}
const uri = (id: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/',
      { 'Fn::GetAtt': [id, 'Arn'] },
      '/invocations',
    ],
  ],
});
const integration = (id: string) => ({
  Type: 'AWS::ApiGatewayV2::Integration',
  Properties: { ApiId: { Ref: 'Api' }, IntegrationType: 'AWS_PROXY', IntegrationUri: uri(id) },
});
const route = (key: string, integrationId: string, extra: Record<string, unknown> = {}) => ({
  Type: 'AWS::ApiGatewayV2::Route',
  Properties: {
    ApiId: { Ref: 'Api' },
    RouteKey: key,
    Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] },
    ...extra,
  },
});

beforeAll(async () => {
  const dir = path.join(stack.stateDir, 'gateway-fixture');
  mkdirSync(path.join(dir, 'asset.handlers'), { recursive: true });
  cpSync(
    path.join(stack.root, 'test/fixtures/gateway-api/handlers.js'),
    path.join(dir, 'asset.handlers', 'handlers.js'),
  );
  writeFileSync(path.join(dir, 'asset.handlers', 'package.json'), '{"type":"commonjs"}');
  writeFileSync(
    path.join(dir, 'Fixture.assets.json'),
    JSON.stringify({ files: { handlers: { source: { path: 'asset.handlers' } } } }),
  );
  writeFileSync(
    path.join(dir, 'Fixture.template.json'),
    JSON.stringify({
      Resources: {
        Api: {
          Type: 'AWS::ApiGatewayV2::Api',
          Properties: {
            ProtocolType: 'WEBSOCKET',
            RouteSelectionExpression: '${request.body.kind}-${request.body.op}',
          },
        },
        Stage: { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: 'Api' }, StageName: 'test' } },
        Authorizer: {
          Type: 'AWS::ApiGatewayV2::Authorizer',
          Properties: { ApiId: { Ref: 'Api' }, AuthorizerType: 'REQUEST', AuthorizerUri: uri('AuthorizeFn') },
        },
        AuthorizeFn: fn('authorize'),
        ConnectFn: fn('connect'),
        EchoFn: fn('echo'),
        SilentFn: fn('silent'),
        ConnectIntegration: integration('ConnectFn'),
        EchoIntegration: integration('EchoFn'),
        SilentIntegration: integration('SilentFn'),
        ConnectRoute: route('$connect', 'ConnectIntegration', {
          AuthorizationType: 'CUSTOM',
          AuthorizerId: { Ref: 'Authorizer' },
        }),
        ChatSendRoute: route('chat-send', 'EchoIntegration', {
          RouteResponseSelectionExpression: '$default',
        }),
        ChatQuietRoute: route('chat-quiet', 'SilentIntegration'),
      },
    }),
  );
  const log = new LogSink({ out: createWriteStream(path.join(dir, 'gateway.log')) });
  const template = LocalTemplate.load(dir, 'Fixture', {
    webSocketBase: `http://localhost:${port}`,
    httpBase: 'http://localhost:1',
  });
  lambda = new LambdaRuntime(template.functions(), { baseEnvironment: {}, maxConcurrency: 2, log });
  gateway = new WebSocketGateway({
    api: template.webSocketApis()[0] as NonNullable<ReturnType<typeof template.webSocketApis>[0]>,
    lambda,
    log,
    host: '127.0.0.1',
    port,
    credentials: stack.credentials,
    edgeFunctions: [],
  });
  await gateway.start();
});

afterAll(async () => {
  await gateway.stop();
  await lambda.close();
});

const url = (query: string) => `ws://localhost:${port}/test?${query}`;

describe('the gateway emulator', () => {
  it('runs the REQUEST authorizer during the handshake: Deny is 403, a thrown "Unauthorized" is 401', async () => {
    expect((await refusal(connect(url('token=bad')))).status).toBe(403);
    expect((await refusal(connect(url('token=throw')))).status).toBe(401);
  });

  it('answers with the $connect integration status when it is not 2xx', async () => {
    expect((await refusal(connect(url('token=good&refuse=1')))).status).toBe(418);
  });

  it('selects routes with ${…} interpolation, returns two-way route responses and carries the authorizer context', async () => {
    const client = await connect(url('token=good'));
    client.ws.send(JSON.stringify({ kind: 'chat', op: 'send', text: 'hi' }));
    const reply = json(await client.waitFor((m) => m.includes('route')));
    expect(reply).toMatchObject({
      route: 'chat-send',
      authorizer: { principalId: 'user-1', tier: 'gold', score: 7 },
    });
    client.close();
  });

  it('sends nothing back for a one-way route, and "Forbidden" when no route matches and there is no $default', async () => {
    const client = await connect(url('token=good'));
    client.ws.send(JSON.stringify({ kind: 'chat', op: 'quiet' }));
    expect(await client.quietFor(300)).toEqual([]);
    client.ws.send('not json at all');
    expect(json(await client.waitFor((m) => m.includes('Forbidden')))).toMatchObject({
      message: 'Forbidden',
      connectionId: expect.any(String),
      requestId: expect.any(String),
    });
    client.close();
  });

  it('refuses a path after the stage when there is no edge, as API Gateway does', async () => {
    expect((await refusal(connect(`ws://localhost:${port}/test/more?token=good`))).status).toBe(403);
  });
});
