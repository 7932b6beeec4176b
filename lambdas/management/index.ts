/**
 * The management API function: its routes are lambdas/management/api.ts, over the adapters built
 * here once per execution environment (missing configuration fails the cold start).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { catalog } from '../shared/catalog.ts';
import { ENV } from '../shared/env.ts';
import { observed } from '../shared/middleware.ts';
import { MetricUnit, metrics } from '../shared/observability.ts';
import {
  accessDirectory,
  connectionStore,
  connectionsApi,
  deliverer,
  registry,
  throttleStore,
} from '../shared/services.ts';
import { createManagementApi } from './api.ts';

const edge = ENV.webSocketEdgeUrl.read();
const throttle = throttleStore();
const api = createManagementApi({
  registry: registry(),
  throttle,
  delivery: deliverer(connectionStore(), connectionsApi(), throttle, accessDirectory()),
  catalog,
  publicUrls: {
    stage: ENV.webSocketStageUrl.read(),
    token: ENV.tokenUrl.read(),
    ...(edge ? { edge } : {}),
  },
});

export const handler = observed(
  async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    metrics.addMetric('managementRequests', MetricUnit.Count, 1);
    return api.handle(event, context);
  },
);
