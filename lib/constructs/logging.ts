import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** Structured JSON access log lines for an API Gateway stage (HTTP API or WebSocket API). */
export function accessLogFormat(kind: 'http' | 'websocket'): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      requestTime: '$context.requestTime',
      routeKey: '$context.routeKey',
      status: '$context.status',
      integrationError: '$context.integrationErrorMessage',
      ...(kind === 'websocket'
        ? { connectionId: '$context.connectionId', eventType: '$context.eventType' }
        : { method: '$context.httpMethod', path: '$context.path', latencyMs: '$context.responseLatency' }),
    }),
  );
}

/** The shortest CloudWatch Logs retention that keeps logs at least `days` days. */
export function retentionOf(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number' && v > 0);
  const match = allowed.sort((a, b) => a - b).find((v) => v >= days);
  return (match ?? RetentionDays.TEN_YEARS) as RetentionDays;
}
