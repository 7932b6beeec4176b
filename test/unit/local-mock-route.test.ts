import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CfnTemplate, LocalTemplate, TemplateError } from '../../local/template.ts';

/** A WebSocket API whose `ping` route is a two-way MOCK integration answering `reply`. */
function templateWithMock(reply: string): LocalTemplate {
  const dir = mkdtempSync(path.join(tmpdir(), 'streamgate-mock-'));
  writeFileSync(path.join(dir, 'Fixture.assets.json'), JSON.stringify({ files: {} }));
  const template: CfnTemplate = {
    Resources: {
      Api: { Type: 'AWS::ApiGatewayV2::Api', Properties: { ProtocolType: 'WEBSOCKET' } },
      Stage: { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: 'Api' }, StageName: 'prod' } },
      PingIntegration: {
        Type: 'AWS::ApiGatewayV2::Integration',
        Properties: { ApiId: { Ref: 'Api' }, IntegrationType: 'MOCK' },
      },
      PingIntegrationResponse: {
        Type: 'AWS::ApiGatewayV2::IntegrationResponse',
        Properties: {
          ApiId: { Ref: 'Api' },
          IntegrationId: { Ref: 'PingIntegration' },
          IntegrationResponseKey: '$default',
          ResponseTemplates: { $default: reply },
        },
      },
      PingRoute: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: {
          ApiId: { Ref: 'Api' },
          RouteKey: 'ping',
          RouteResponseSelectionExpression: '$default',
          Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'PingIntegration' }]] },
        },
      },
    },
  };
  return new LocalTemplate(template, dir, 'Fixture', {
    webSocketBase: 'http://localhost:1',
    httpBase: 'http://localhost:2',
  });
}

describe('a MOCK route in the template', () => {
  it('is read with the reply its integration response gives and no function', () => {
    const [api] = templateWithMock('{"type":"pong"}').webSocketApis();
    expect(api?.routes.get('ping')).toEqual({
      routeKey: 'ping',
      functionId: undefined,
      returnsResponse: true,
      mock: { reply: '{"type":"pong"}' },
    });
  });

  it('with a VTL template is refused at load, not answered differently from AWS', () => {
    expect(() => templateWithMock('{"id":"$context.connectionId"}').webSocketApis()).toThrow(TemplateError);
  });
});
