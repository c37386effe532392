// Glue (not in the seed): tracing starts before the modules it instruments are required
// (express, redis, kafkajs, http), as the seed's --require / import order intends.
import { initTracing } from '../seed/tracing/tracing';

initTracing()
  .then(() => require('./gateway').start())
  .catch((error: unknown) => {
    console.error('api-gateway failed to start:', error);
    process.exit(1);
  });
