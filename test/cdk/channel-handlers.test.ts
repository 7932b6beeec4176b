import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  ChannelHandlerFunctions,
  HttpBackendSigning,
  handlerFunctionId,
} from '../../lib/constructs/channel-handlers.ts';
import { api, channel } from '../helpers/catalog.ts';
import { catalog, gatewayStack, logRetention, statementsOf } from './construct-fixtures.ts';

/** Every action a role may take: its attached policies and its inline ones. */
function actionsOf(template: Template, rolePrefix: string): string[] {
  const inline = Object.entries(template.findResources('AWS::IAM::Role'))
    .filter(([id]) => id.startsWith(rolePrefix))
    .flatMap(([, role]) =>
      ((role.Properties.Policies ?? []) as { PolicyDocument: { Statement: unknown[] } }[]).flatMap(
        (p) => p.PolicyDocument.Statement,
      ),
    ) as { Action: unknown }[];
  return [...statementsOf(template, rolePrefix), ...inline].flatMap((s) =>
    Array.isArray(s.Action) ? (s.Action as string[]) : [s.Action as string],
  );
}

describe('ChannelHandlerFunctions', () => {
  it('deploys one function per handler module, named by module, with no rights on tables, @connections or functions', () => {
    const { stack, gateway } = gatewayStack();
    new ChannelHandlerFunctions(stack, 'Handlers', { catalog, gateway, logRetention });
    const template = Template.fromStack(stack);
    const handler = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'examples/echo' }) },
      Role: { 'Fn::GetAtt': [handler, 'Arn'] },
    });
    expect(handler.asString()).toMatch(/^HandlersHandlerExamplesEcho/);
    const actions = actionsOf(template, handler.asString());
    expect(actions.filter((a) => /^(dynamodb|execute-api|lambda|secretsmanager|sqs|kafka):/.test(a))).toEqual(
      [],
    );
    // Nor does it learn where the tables or the @connections endpoint are.
    const variables = JSON.stringify(
      Object.values(template.findResources('AWS::Lambda::Function')).find((f) =>
        JSON.stringify(f).includes('"examples/echo"'),
      ),
    );
    expect(variables).not.toMatch(/CONNECTIONS_TABLE|THROTTLE_TABLE|CALLBACK_URL/);
  });

  it('gives the follow-up function (gateway code) the gateway data and posting, and lets it invoke the handlers', () => {
    const { stack, gateway } = gatewayStack();
    const handlers = new ChannelHandlerFunctions(stack, 'Handlers', { catalog, gateway, logRetention });
    const template = Template.fromStack(stack);
    expect(handlers.followUpFunction).toBeDefined();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'handler-follow-up',
          CONNECTIONS_TABLE: Match.anyValue(),
          CALLBACK_URL: Match.anyValue(),
          HANDLER_FUNCTIONS: Match.anyValue(),
        }),
      },
    });
    const statements = JSON.stringify(statementsOf(template, 'HandlersFollowUp'));
    expect(statements).toContain('execute-api:ManageConnections');
    expect(statements).toMatch(/lambda:InvokeFunction.*HandlersHandlerExamplesEcho/);
  });

  it('lets $connect and the message function invoke the handler, $connect and $disconnect queue follow-ups', () => {
    const { stack, gateway } = gatewayStack();
    new ChannelHandlerFunctions(stack, 'Handlers', { catalog, gateway, logRetention });
    const template = Template.fromStack(stack);
    for (const [role, service] of [
      ['GatewayConnectRole', 'connect'],
      ['GatewayMessageRole', 'message'],
    ]) {
      expect(JSON.stringify(statementsOf(template, role as string))).toMatch(
        /lambda:InvokeFunction.*HandlersHandlerExamplesEcho/,
      );
      const handlers = new Capture();
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: service, HANDLER_FUNCTIONS: handlers }),
        },
      });
      expect(JSON.stringify(handlers.asObject())).toMatch(/examples\/echo.*HandlersHandlerExamplesEcho/);
    }
    for (const [role, service] of [
      ['GatewayConnectRole', 'connect'],
      ['GatewayDisconnectRole', 'disconnect'],
    ]) {
      expect(JSON.stringify(statementsOf(template, role as string))).toMatch(
        /lambda:InvokeFunction.*HandlersFollowUp/,
      );
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            POWERTOOLS_SERVICE_NAME: service,
            HANDLER_FOLLOW_UP_FUNCTION: { Ref: Match.stringLikeRegexp('^HandlersFollowUp') },
          }),
        },
      });
    }
    // $disconnect never calls a handler itself.
    expect(JSON.stringify(statementsOf(template, 'GatewayDisconnectRole'))).not.toMatch(
      /HandlersHandlerExamplesEcho/,
    );
  });

  it('creates nothing, and sets no variable, without handler modules', () => {
    const { stack, gateway } = gatewayStack();
    const none = new ChannelHandlerFunctions(stack, 'Handlers', {
      catalog: { apis: [api({ name: 'Plain', context: '/plain' })] },
      gateway,
      logRetention,
    });
    const template = Template.fromStack(stack);
    expect(none.functions).toHaveLength(0);
    expect(none.followUpFunction).toBeUndefined();
    template.resourceCountIs('AWS::Lambda::Function', 3);
    expect(JSON.stringify(template.findResources('AWS::Lambda::Function'))).not.toMatch(
      /HANDLER_FUNCTIONS|HANDLER_FOLLOW_UP_FUNCTION/,
    );
  });

  it('names functions after their module', () => {
    expect(handlerFunctionId('examples/chat-backend')).toBe('HandlerExamplesChatBackend');
  });
});

describe('HttpBackendSigning', () => {
  const withHttp = {
    apis: [
      api({
        name: 'Hooks',
        context: '/hooks',
        channels: [channel('/events', { backend: { type: 'http', timeoutMs: 1_000 } })],
      }),
    ],
  };

  it('generates a secret only the message function reads, and tells it and the owner where it is', () => {
    const { stack, gateway } = gatewayStack();
    new HttpBackendSigning(stack, 'Signing', { catalog: withHttp, gateway });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'message',
          HTTP_BACKEND_SECRET: { Ref: Match.stringLikeRegexp('HttpBackendSigningSecret') },
        }),
      },
    });
    expect(JSON.stringify(statementsOf(template, 'GatewayMessageRole'))).toMatch(
      /secretsmanager:GetSecretValue.*HttpBackendSigningSecret/,
    );
    for (const role of ['GatewayConnectRole', 'GatewayDisconnectRole'])
      expect(JSON.stringify(statementsOf(template, role))).not.toContain('secretsmanager');
    expect(
      Object.keys(template.findOutputs('*')).some((o) => o.includes('HttpBackendSigningSecretArn')),
    ).toBe(true);
  });

  it('creates no secret without http backends', () => {
    const { stack, gateway } = gatewayStack();
    new HttpBackendSigning(stack, 'Signing', { catalog, gateway });
    Template.fromStack(stack).resourceCountIs('AWS::SecretsManager::Secret', 0);
  });
});
