/**
 * The MSK-triggered fan-out function (see `usecases/fanout-batch.ts` for what a batch does), wired
 * to DynamoDB, `@connections` and SQS from the environment at cold start.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { CheckpointStore } from '../adapters/checkpoint-store.ts';
import { FailureDestination } from '../adapters/failure-destination.ts';
import { runTransforms } from '../adapters/transform-runner.ts';
import { TransformStateStore } from '../adapters/transform-state-store.ts';
import { kafkaBindings } from '../core/kafka-records.ts';
import { createTargetResolver } from '../core/target.ts';
import { catalog } from '../shared/catalog.ts';
import { ENV, RUNTIME_ENV } from '../shared/env.ts';
import { observed } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import {
  accessDirectory,
  connectionStore,
  connectionsApi,
  deliverer,
  documentClient,
  throttleStore,
} from '../shared/services.ts';
import { cachedSubscribers, type FanoutBatchDependencies } from '../usecases/fanout-batch.ts';
import { createHandler } from './handler.ts';

/** The fan-out's dependencies from the environment; throws on missing configuration. */
export function defaultDependencies(): FanoutBatchDependencies {
  const store = connectionStore();
  const stateTable = ENV.streamStateTable.read();
  const transformState = new TransformStateStore(documentClient(), stateTable);
  return {
    bindings: kafkaBindings(catalog),
    resolver: createTargetResolver(catalog),
    // SUBSCRIBER_CACHE_MS (default 1 s): how long a topic instance's subscriber list is reused.
    subscribers: cachedSubscribers((topicKey) => store.subscribers(topicKey), ENV.subscriberCacheMs.read()),
    checkpoints: new CheckpointStore(documentClient(), stateTable, RUNTIME_ENV.functionName.read()),
    transforms: (jobs) => runTransforms(jobs, transformState),
    deliverer: deliverer(store, connectionsApi(), throttleStore(), accessDirectory()),
    failures: new FailureDestination(new SQSClient({}), ENV.failureQueueUrl.read(), 'streamgate-fanout'),
    now: Date.now,
    log: logger,
  };
}

export const handler = observed(createHandler(defaultDependencies()));
