import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ChannelHandlerFunctions, handlerFunctionId } from '../../lib/constructs/channel-handlers.ts';
import { api } from '../helpers/catalog.ts';
import { catalog, gatewayStack, logRetention, statementsOf } from './construct-fixtures.ts';

describe('ChannelHandlerFunctions', () => {
  it('deploys one function per handler module, named by module, on the gateway data with posting', () => {
    const { stack, gateway } = gatewayStack();
    new ChannelHandlerFunctions(stack, 'Handlers', { catalog, gateway, logRetention });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'examples/echo',
          CONNECTIONS_TABLE: Match.anyValue(),
          CALLBACK_URL: Match.anyValue(),
          DELIVERY_CONCURRENCY: '64',
        }),
      },
    });
    expect(JSON.stringify(statementsOf(template, 'HandlersHandlerExamplesEchoRole'))).toContain(
      'execute-api:ManageConnections',
    );
  });

  it('lets $connect, $disconnect and the message function invoke it, and tells them its name by module', () => {
    const { stack, gateway } = gatewayStack();
    new ChannelHandlerFunctions(stack, 'Handlers', { catalog, gateway, logRetention });
    const template = Template.fromStack(stack);
    for (const [role, service] of [
      ['GatewayConnectRole', 'connect'],
      ['GatewayDisconnectRole', 'disconnect'],
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
    template.resourceCountIs('AWS::Lambda::Function', 3);
    expect(JSON.stringify(template.findResources('AWS::Lambda::Function'))).not.toContain(
      'HANDLER_FUNCTIONS',
    );
  });

  it('names functions after their module', () => {
    expect(handlerFunctionId('examples/chat-backend')).toBe('HandlerExamplesChatBackend');
  });
});
