import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { WebSocketEdge } from '../../lib/constructs/websocket-edge.ts';
import { gatewayStack } from './construct-fixtures.ts';

describe('WebSocketEdge', () => {
  const { stack, gateway } = gatewayStack({ stageName: 'live' });
  const edge = new WebSocketEdge(stack, 'Edge', { stage: gateway.stage });
  const template = Template.fromStack(stack);

  it('runs the viewer-request function that moves paths into ?target=', () => {
    template.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionConfig: Match.objectLike({ Runtime: 'cloudfront-js-2.0' }),
      FunctionCode: Match.stringLikeRegexp('querystring\\.target'),
    });
  });

  it('forwards everything but Host to the stage, uncached, over HTTPS (TLS 1.2 to the origin)', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({
          CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // CachingDisabled
          OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac', // AllViewerExceptHostHeader
          ViewerProtocolPolicy: 'https-only',
          FunctionAssociations: [Match.objectLike({ EventType: 'viewer-request' })],
        }),
        Origins: [
          Match.objectLike({
            OriginPath: '/live',
            CustomOriginConfig: Match.objectLike({
              OriginProtocolPolicy: 'https-only',
              OriginSSLProtocols: ['TLSv1.2'],
            }),
          }),
        ],
      }),
    });
  });

  it('never caches a refused handshake: zero error-caching TTL for every status CloudFront allows', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        CustomErrorResponses: [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504].map((code) => ({
          ErrorCode: code,
          ErrorCachingMinTTL: 0,
        })),
      }),
    });
  });

  it('gives its wss:// URL as an output', () => {
    expect(edge.url).toMatch(/^wss:\/\//);
    template.hasOutput('*', { Description: Match.stringLikeRegexp('WSO2-style URLs') });
  });

  it('acknowledges the CloudFront findings with reasons', () => {
    const ids = edge.distribution.node.metadata
      .filter((m) => m.type === 'aws:cdk:acknowledged-rules')
      .flatMap((m) => Object.keys(m.data as object))
      .map((id) => id.replace(/^Annotation::/, ''));
    expect(ids.sort()).toEqual([
      'AwsSolutions-CFR1',
      'AwsSolutions-CFR2',
      'AwsSolutions-CFR3',
      'AwsSolutions-CFR4',
    ]);
  });
});
