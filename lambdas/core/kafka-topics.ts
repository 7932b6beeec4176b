/**
 * What the topic-admin custom resource does with the catalog's Kafka topics (pure): which to
 * create, which already exist (kept as they are, reported when their partition count differs), and
 * which names Kafka would refuse. Also the checks of the custom resource's properties, which
 * CloudFormation delivers as strings.
 */

/** A topic as the cluster has it. */
export interface ExistingTopic {
  name: string;
  partitions: number;
}

/** The decision for one Create or Update. */
export interface TopicPlan {
  /** Missing topics, to create with `partitions` partitions each. */
  create: string[];
  /** Topics that exist: left untouched (data and settings are the owner's). */
  kept: ExistingTopic[];
  /** Kept topics whose partition count is not the configured one (reported, not changed). */
  differing: ExistingTopic[];
  /** Names Kafka refuses, with why; a plan with any fails the deployment. */
  refused: { topic: string; reason: string }[];
}

/** The custom resource's properties, checked. */
export interface TopicRequest {
  clusterArn: string;
  topics: string[];
  partitions: number;
}

/** Kafka's topic name rule: 1–249 of `[a-zA-Z0-9._-]`, not `.` or `..` (Kafka `Topic.validate`). */
export function topicNameProblem(topic: string): string | undefined {
  if (topic === '.' || topic === '..') return 'may not be "." or ".."';
  if (topic.length > 249) return 'is longer than 249 characters';
  if (!/^[a-zA-Z0-9._-]+$/.test(topic)) return 'may hold only letters, digits, ".", "_" and "-"';
  return undefined;
}

/** Create what is missing; keep (and report) what exists; refuse names Kafka would refuse. */
export function planTopics(requested: string[], partitions: number, existing: ExistingTopic[]): TopicPlan {
  const byName = new Map(existing.map((topic) => [topic.name, topic]));
  const plan: TopicPlan = { create: [], kept: [], differing: [], refused: [] };
  for (const topic of [...new Set(requested)].sort()) {
    const problem = topicNameProblem(topic);
    if (problem) {
      plan.refused.push({ topic, reason: `topic name ${JSON.stringify(topic)} ${problem}` });
      continue;
    }
    const found = byName.get(topic);
    if (!found) {
      plan.create.push(topic);
      continue;
    }
    plan.kept.push(found);
    if (found.partitions !== partitions) plan.differing.push(found);
  }
  return plan;
}

/**
 * Checks the custom resource's `ResourceProperties` (`ClusterArn`, `Topics`, `Partitions`).
 * CloudFormation passes every scalar as a string, so `Partitions` arrives as `"3"`
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html). Throws
 * with what is wrong.
 */
export function parseTopicRequest(properties: Record<string, unknown>): TopicRequest {
  const { ClusterArn: clusterArn, Topics: topics, Partitions: partitions } = properties;
  if (
    typeof clusterArn !== 'string' ||
    !/^arn:aws[a-z-]*:kafka:[^:]+:\d{12}:cluster\/[^/]+\/[^/]+$/.test(clusterArn)
  )
    throw new Error(`ClusterArn must be an MSK cluster ARN (got ${JSON.stringify(clusterArn)})`);
  if (!Array.isArray(topics) || !topics.every((t): t is string => typeof t === 'string'))
    throw new Error('Topics must be a list of topic names');
  const count = Number(partitions);
  if (!Number.isInteger(count) || count < 1 || count > 1000)
    throw new Error(`Partitions must be an integer from 1 to 1000 (got ${JSON.stringify(partitions)})`);
  return { clusterArn, topics, partitions: count };
}

/** One line for the log and the response: what was created, kept, and kept with other settings. */
export function describePlan(plan: TopicPlan, partitions: number): string {
  const parts = [
    `created ${plan.create.length ? plan.create.join(', ') : 'none'}`,
    `kept ${plan.kept.length ? plan.kept.map((t) => t.name).join(', ') : 'none'}`,
  ];
  if (plan.differing.length)
    parts.push(
      `kept with other settings: ${plan.differing.map((t) => `${t.name} (${t.partitions} partitions, kafka.topicPartitions is ${partitions})`).join(', ')}`,
    );
  return parts.join('; ');
}
