// Glue (not in the seed): the usage-tracker. Consumes the gateway's usage events with
// kafkajs (KafkaJsInstrumentation continues the producer's trace in the consumer span)
// and counts usage in Redis; serves /metrics (the seed's registry) and /health.
import express from 'express';
import { createClient } from 'redis';
import { Kafka } from 'kafkajs';
import { Counter, Histogram } from 'prom-client';
import { register, metricsHandler, kafkaMessagesConsumed, kafkaConsumerLag } from '../seed/metrics/metrics.service';
import { createLogger } from '../seed/logging/logger';
import { env, redisOp } from './common';

// Not in the seed's metrics.service.ts, but queried by its SLOs (slo/mindweave-slos.yaml);
// prom-client's default buckets include the SLO's le="0.1".
const processing = new Histogram({
  name: 'usage_event_processing_duration_seconds',
  help: 'Usage event processing duration in seconds',
  labelNames: ['topic'],
  registers: [register],
});
const received = new Counter({
  name: 'usage_events_received_total', help: 'Usage events received', labelNames: ['topic'], registers: [register],
});
const dropped = new Counter({
  name: 'usage_events_dropped_total', help: 'Usage events dropped', labelNames: ['topic', 'reason'], registers: [register],
});

const log = createLogger({ category: 'usage' });
const topic = env('MW_USAGE_TOPIC', 'usage-events');
const group = env('MW_CONSUMER_GROUP', 'usage-tracker');
const redis = createClient({ url: env('MW_REDIS_URL', 'redis://127.0.0.1:6379') });
redis.on('error', (error) => log.error({ err: error }, 'redis client error'));
let assigned = false;
let processed = 0;
let stopped: string | undefined;

async function count(key: string, event: Record<string, any>): Promise<void> {
  for (const field of ['input_tokens', 'output_tokens']) {
    const value = Math.trunc(Number(event[field] ?? 0));
    await redisOp('hincrby', () => redis.hIncrBy(key, field, value));
  }
  const cost = Number(event.cost_cents ?? 0);
  await redisOp('hincrbyfloat', () => redis.hIncrByFloat(key, 'cost_cents', cost));
  await redisOp('hincrby', () => redis.hIncrBy(key, 'events', 1));
}

export async function start(): Promise<void> {
  await redis.connect();
  const kafka = new Kafka({ clientId: 'usage-tracker', brokers: env('MW_KAFKA_BOOTSTRAP', '127.0.0.1:9092').split(','), logLevel: 1 });
  const consumer = kafka.consumer({ groupId: group });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    assigned = Object.keys(e.payload.memberAssignment).length > 0;
    stopped = undefined;
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    const p = e.payload;
    kafkaConsumerLag.set({ topic: p.topic, partition: String(p.partition), consumer_group: group }, Number(p.offsetLag));
  });
  // A crash KafkaJS restarts from (a broker slow to elect a coordinator) is not a stop: the
  // tracker is starting again until it rejoins its group.
  consumer.on(consumer.events.CRASH, (e) => {
    assigned = false;
    if (!e.payload.restart) stopped = String(e.payload.error);
  });
  // The topic may not exist yet (the broker need not auto-create it): create it, idempotently.
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
  await admin.disconnect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic: from, message }) => {
      const start = process.hrtime.bigint();
      received.inc({ topic: from });
      try {
        const event = JSON.parse(message.value?.toString('utf8') ?? '');
        if (!event.org_id || !event.project_id) throw new TypeError('usage event without org_id or project_id');
        await count(`usage:${event.org_id}:${event.project_id}`, event);
        if (event.api_key) await count(`usage:key:${event.api_key}`, event);
        log.info(
          { event: 'usage.recorded', org_id: event.org_id, project_id: event.project_id, offset: message.offset },
          'usage event processed'
        );
      } catch (error) {
        dropped.inc({ topic: from, reason: 'invalid' });
        log.error({ err: error, offset: message.offset }, 'usage event dropped');
      }
      kafkaMessagesConsumed.inc({ topic: from, consumer_group: group });
      processing.observe({ topic: from }, Number(process.hrtime.bigint() - start) / 1e9);
      processed += 1;
    },
  });

  const app = express();
  app.get('/metrics', (req, res) => { metricsHandler(req, res).catch((e) => res.status(500).end(String(e))); });
  app.get('/health', (_req, res) => {
    if (stopped) {
      res.status(503).json({ status: 'consumer stopped', error: stopped });
      return;
    }
    res.status(assigned ? 200 : 503).json({ status: assigned ? 'ready' : 'starting', processed });
  });
  const port = Number(env('PORT', '3001'));
  app.listen(port, '127.0.0.1', () => console.error(`usage-tracker listening on 127.0.0.1:${port}`));
}
