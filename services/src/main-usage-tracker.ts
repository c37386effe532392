// Glue (not in the seed): tracing first, then the modules it instruments.
import { initTracing } from '../seed/tracing/tracing';

initTracing()
  .then(() => require('./usage-tracker').start())
  .catch((error: unknown) => {
    console.error('usage-tracker failed to start:', error);
    process.exit(1);
  });
