import type { KafkaClient, KafkaClientOptions } from './kafka-client.ts'
import { createKafkajsClient } from './kafkajs-client.ts'

export type * from './kafka-client.ts'

/** The Kafka client Ficus uses: the one place that chooses the implementation. */
export function createKafkaClient(options: KafkaClientOptions): KafkaClient {
  return createKafkajsClient(options)
}
