import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
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

/**
 * Every status CloudFront lets a distribution set an error-caching TTL for. CloudFront caches an
 * origin's 4xx/5xx answer to a GET (a WebSocket handshake is a GET) for 10 s by default, for every
 * viewer at that edge: a refused handshake (403 bad token, 404 unknown API, a 5xx) would then refuse
 * the next, valid one. 429 is not among the codes CloudFront accepts here, nor among those it caches. Source: "Control how long CloudFront caches errors"
 * (docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/custom-error-pages-expiration.html) and
 * the CustomErrorResponse API (…/cloudfront/latest/APIReference/API_CustomErrorResponse.html), 2026-11.
 */
export const EDGE_UNCACHED_ERROR_STATUSES = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504] as const;

export interface WebSocketEdgeProps {
  /** The WebSocket stage the edge carries connections to. */
  readonly stage: WebSocketStage;
}

/**
 * CloudFront in front of the WebSocket stage, for WSO2-style URLs (`wss://<edge>/chats/1.0.0/rooms/room1`).
 * API Gateway answers only at the stage URL, so a viewer-request function moves the path into
 * `?target=`; the origin path adds the stage. Authorization and the WebSocket headers reach the
 * origin; the Host header must not. HTTPS only, nothing cached — error answers included (zero
 * error-caching TTL for every status CloudFront allows one for).
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
      // A refused handshake is the answer for that client only: never cached for the next one.
      errorResponses: EDGE_UNCACHED_ERROR_STATUSES.map((httpStatus) => ({
        httpStatus,
        ttl: Duration.seconds(0),
      })),
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
