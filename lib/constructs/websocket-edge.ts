import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Stack } from 'aws-cdk-lib';
import type { WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { Construct } from 'constructs';
import { acknowledge } from './nag.ts';
import { StackArea } from './stack-area.ts';

const VIEWER_REQUEST = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../edge/viewer-request.js',
);

export interface WebSocketEdgeProps {
  /** The WebSocket stage the edge carries connections to. */
  readonly stage: WebSocketStage;
}

/**
 * CloudFront in front of the WebSocket stage, for WSO2-style URLs (`wss://<edge>/chats/1.0.0/rooms/room1`).
 * API Gateway answers only at the stage URL, so a viewer-request function moves the path into
 * `?target=`; the origin path adds the stage. Authorization and the WebSocket headers reach the
 * origin; the Host header must not. HTTPS only, nothing cached.
 */
export class WebSocketEdge extends StackArea {
  /** The CloudFront distribution in front of the stage. */
  readonly distribution: cloudfront.Distribution;
  /** `wss://<distribution domain>`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: WebSocketEdgeProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { stage } = props;
    // At the stack's root: CloudFront functions are named from their construct path (Names.uniqueId),
    // and a deployed stack's function keeps its name.
    const rewrite = new cloudfront.Function(stack, 'EdgeRewrite', {
      code: cloudfront.FunctionCode.fromFile({ filePath: VIEWER_REQUEST }),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      comment: 'Carry WSO2-style WebSocket paths to the API Gateway stage as ?target=',
    });
    this.distribution = new cloudfront.Distribution(this, 'Edge', {
      comment: 'streamgate WebSocket edge',
      defaultBehavior: {
        origin: new HttpOrigin(`${stage.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`, {
          originPath: `/${stage.stageName}`,
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        functionAssociations: [{ function: rewrite, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
    });
    this.url = `wss://${this.distribution.distributionDomainName}`;
    new CfnOutput(this, 'EdgeUrl', {
      value: this.url,
      description: 'WSO2-style URLs: wss://<edge>/<context>/<version>/<topic>',
    });
    for (const [id, reason] of [
      ['AwsSolutions-CFR1', 'Streaming APIs are offered worldwide; restrict per deployment if needed.'],
      [
        'AwsSolutions-CFR2',
        'WAF is a per-deployment choice (cost); tokens are verified at $connect and the stage is throttled.',
      ],
      [
        'AwsSolutions-CFR3',
        'Connections are logged by the API Gateway stage access log behind this distribution.',
      ],
      [
        'AwsSolutions-CFR4',
        'The default *.cloudfront.net certificate cannot pin TLS 1.2; attach a custom domain to enforce it.',
      ],
    ] as const) {
      acknowledge(this.distribution, id, reason);
    }
  }
}
