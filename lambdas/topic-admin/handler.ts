/**
 * The topic-admin handler: CloudFormation's custom resource `Custom::KafkaTopics`, which creates the
 * catalog's Kafka topics on the MSK Serverless cluster the stack created (MSK Serverless takes no
 * `auto.create.topics.enable`). Create and Update create the missing topics (`core/kafka-topics.ts`
 * decides); a topic that exists is kept as it is, and reported when its partition count differs.
 * Delete leaves the topics alone: their records are the users' data, an Update that renames the
 * resource sends a Delete for the old one, and when the stack deletes the cluster the topics go with
 * it. Every outcome is PUT to the request's `ResponseURL`, a failure with its reason, so a
 * deployment never waits an hour for an answer. `index.ts` gives it Kafka; tests give it fakes.
 */
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import { describePlan, type ExistingTopic, parseTopicRequest, planTopics } from '../core/kafka-topics.ts';
import { logger } from '../shared/observability.ts';

export interface TopicAdminDependencies {
  /** Topics on the cluster, with their partition counts. */
  existing(): Promise<ExistingTopic[]>;
  create(topics: string[], partitions: number): Promise<void>;
  /** PUT the outcome to the request's ResponseURL. */
  respond(responseUrl: string, response: CloudFormationCustomResourceResponse): Promise<void>;
}

/** One physical id for the resource's whole life: an Update never replaces it. */
export const PHYSICAL_ID = 'streamgate-kafka-topics';

/** The Lambda handler of the topic-admin function, over `deps`. */
export function createHandler(
  deps: TopicAdminDependencies,
): (event: CloudFormationCustomResourceEvent) => Promise<void> {
  async function apply(
    event: CloudFormationCustomResourceEvent,
  ): Promise<{ reason: string; data: Record<string, string> }> {
    if (event.RequestType === 'Delete') return { reason: 'topics kept (their records are data)', data: {} };
    const request = parseTopicRequest(event.ResourceProperties);
    const plan = planTopics(request.topics, request.partitions, await deps.existing());
    if (plan.refused.length) throw new Error(plan.refused.map((r) => r.reason).join('; '));
    await deps.create(plan.create, request.partitions);
    const reason = describePlan(plan, request.partitions);
    if (plan.differing.length) logger.warn('topics kept with other settings', { topics: plan.differing });
    logger.info('topics', { created: plan.create, kept: plan.kept.map((t) => t.name) });
    return {
      reason,
      data: {
        Created: plan.create.join(','),
        Kept: plan.kept.map((t) => t.name).join(','),
        Differing: plan.differing.map((t) => `${t.name}:${t.partitions}`).join(','),
      },
    };
  }

  return async (event) => {
    const common = {
      PhysicalResourceId: PHYSICAL_ID,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    };
    let response: CloudFormationCustomResourceResponse;
    try {
      const { reason, data } = await apply(event);
      response = { ...common, Status: 'SUCCESS', Reason: reason, Data: data };
    } catch (error) {
      logger.error('topic administration failed', error as Error);
      // CloudFormation shows the reason in the stack events; it keeps the first 4 KB or so.
      response = {
        ...common,
        Status: 'FAILED',
        Reason: `Kafka topics: ${(error as Error).message}`.slice(0, 3000),
      };
    }
    await deps.respond(event.ResponseURL, response);
  };
}
