import { Kafka, type KafkaConfig } from 'kafkajs';
import type { ExistingTopic } from '../core/kafka-topics.ts';

/** Topic administration on one cluster, one connection per call (a deployment calls it once). */
export class KafkaTopicAdmin {
  constructor(private readonly config: () => Promise<KafkaConfig>) {}

  /**
   * The topics the caller may see, with their partition counts. Under MSK IAM access control the
   * metadata lists only topics the role may DescribeTopic, which are the ones it asks about.
   */
  async existing(): Promise<ExistingTopic[]> {
    return this.withAdmin(async (admin) => {
      const { topics } = await admin.fetchTopicMetadata();
      return topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.length }));
    });
  }

  /** Creates these topics with `partitions` each and the cluster's replication; waits for leaders. */
  async create(topics: string[], partitions: number): Promise<void> {
    if (!topics.length) return;
    await this.withAdmin((admin) =>
      admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((topic) => ({ topic, numPartitions: partitions })),
      }),
    );
  }

  private async withAdmin<T>(work: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
    const admin = new Kafka(await this.config()).admin();
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.disconnect();
    }
  }
}
