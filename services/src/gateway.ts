// Glue (not in the seed): the api-gateway's Express app on the latency-critical routes,
// wiring the seed's middleware (metricsMiddleware, requestLogger), its span helpers
// (spans.ts), trackers (instrumentation.ts) and log patterns (log-patterns.ts).
// Routes, ids in paths so that normalizePath has work to do:
//   POST /api/v1/orgs/:org/projects/:project/messages   Claude call via the upstream stub
//   POST /api/v1/usage/events                           usage event -> Kafka -> usage-tracker
//   POST /api/v1/orgs/:org/mcp/servers/:server/tools/:tool/invoke
//   POST /api/v1/orgs/:org/policies/evaluate
//   GET  /api/v1/api-keys/:key/usage                    usage counted by the tracker (Redis)
//   POST /api/v1/auth/login
//   GET  /health/live, /health/ready (untraced), /metrics
import express, { NextFunction, Request, Response } from 'express';
import { createClient } from 'redis';
import { Kafka, Producer } from 'kafkajs';
import { metricsHandler, mcpServersActive, policyViolations, kafkaMessagesProduced, dbQueryDuration, dbConnectionPool } from '../seed/metrics/metrics.service';
import { metricsMiddleware, trackApiCall, trackMcpToolInvocation, trackPolicyEvaluation } from '../seed/metrics/instrumentation';
import { requestLogger, logger } from '../seed/logging/logger';
import { logApiCall, logAuditEvent, logLoginAttempt, logMcpServerStatus, logPolicyViolation } from '../seed/logging/log-patterns';
import { traceClaudeApiCall, traceDbQuery, traceMcpToolInvocation } from '../seed/tracing/spans';
import { FAULT_SCOPE_HEADER, HttpError, env, postJson, redisOp, untraced } from './common';

const PRICE_CENTS_PER_1K = { input: 0.3, output: 1.5 };
const POLICY_SEVERITY: Record<string, string> = { deny: 'high', warn: 'medium' };
const POLICIES: Record<string, any> = {
  usage: { max_tokens: 100000 },
  access: { roles: ['admin', 'developer'] },
  compliance: { forbid_pii: true },
};
const POOL = 'primary';
const POOL_SIZE = 10;

const upstreamUrl = env('MW_UPSTREAM_URL', 'http://127.0.0.1:1');
const upstreamTimeoutMs = Number(env('MW_UPSTREAM_TIMEOUT_S', '10')) * 1000;
const mcpTimeoutMs = Number(env('MW_MCP_TIMEOUT_S', '2')) * 1000;
const topic = env('MW_USAGE_TOPIC', 'usage-events');
const redis = createClient({ url: env('MW_REDIS_URL', 'redis://127.0.0.1:6379') });
redis.on('error', (error) => logger.error({ err: error }, 'redis client error'));
let producer: Producer | undefined;
const mcpConnected = new Map<string, Set<string>>();
let poolActive = 0;

function scope(req: Request): Record<string, string> {
  const value = req.headers[FAULT_SCOPE_HEADER];
  return typeof value === 'string' && value ? { [FAULT_SCOPE_HEADER]: value } : {};
}

function jsonObject(req: Request): Record<string, any> {
  const body = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'the body must be a JSON object');
  }
  return body;
}

function poolGauges(): void {
  dbConnectionPool.set({ pool: POOL, state: 'total' }, POOL_SIZE);
  dbConnectionPool.set({ pool: POOL, state: 'active' }, poolActive);
  dbConnectionPool.set({ pool: POOL, state: 'available' }, POOL_SIZE - poolActive);
}

async function sendUsage(key: string, event: Record<string, any>): Promise<void> {
  if (!producer) throw new HttpError(503, 'no Kafka configured');
  await producer.send({ topic, acks: -1, messages: [{ key, value: JSON.stringify(event) }] });
  kafkaMessagesProduced.inc({ topic });
}

type Handler = (req: Request, res: Response) => Promise<void>;
const route = (fn: Handler) => (req: Request, res: Response, next: NextFunction) => {
  fn(req, res).catch(next);
};

const app = express();
app.disable('x-powered-by');
app.use(metricsMiddleware);
app.use(requestLogger);
app.use(express.json({ limit: '1mb' }));

app.post('/api/v1/orgs/:org/projects/:project/messages', route(async (req, res) => {
  const body = jsonObject(req);
  const { org, project } = req.params;
  const model = String(body.model ?? 'unknown');
  const minute = Math.floor(Date.now() / 60000);
  await redisOp('incr', () => redis.incr(`ratelimit:${org}:${minute}`));
  const start = Date.now();
  const call = { orgId: org, projectId: project, model };
  const logged = { ...call, userId: body.user_id, latencyMs: 0 };
  let reply: any;
  try {
    reply = await traceClaudeApiCall({ ...call, endpoint: '/v1/messages' }, () =>
      postJson(`${upstreamUrl}/v1/messages`, body, scope(req), upstreamTimeoutMs)
    );
  } catch (error) {
    const err = error as HttpError;
    trackApiCall({ ...call, inputTokens: 0, outputTokens: 0, costCents: 0, status: 'error' });
    logApiCall({ ...logged, inputTokens: 0, outputTokens: 0, costCents: 0, latencyMs: Date.now() - start, status: 'error' });
    res.status(err.timeout ? 504 : 502).json({ error: 'upstream failure', detail: err.message });
    return;
  }
  const usage = reply.usage ?? {};
  const inputTokens = Number(usage.input_tokens ?? 0);
  const outputTokens = Number(usage.output_tokens ?? 0);
  const costCents = (inputTokens * PRICE_CENTS_PER_1K.input + outputTokens * PRICE_CENTS_PER_1K.output) / 1000;
  trackApiCall({ ...call, inputTokens, outputTokens, costCents, status: 'success' });
  logApiCall({ ...logged, inputTokens, outputTokens, costCents, latencyMs: Date.now() - start, status: 'success' });
  if (producer) {
    const apiKey = req.headers['x-api-key-id'];
    await sendUsage(org, {
      org_id: org, project_id: project, model, user_id: body.user_id ?? '',
      input_tokens: inputTokens, output_tokens: outputTokens, cost_cents: costCents,
      api_key: typeof apiKey === 'string' ? apiKey : '',
    });
  }
  res.json(reply);
}));

app.post('/api/v1/usage/events', route(async (req, res) => {
  const event = jsonObject(req);
  const missing = ['org_id', 'project_id', 'model'].filter((k) => !(k in event));
  if (missing.length) {
    res.status(400).json({ error: `missing ${JSON.stringify(missing)}` });
    return;
  }
  logAuditEvent({
    actor: { type: 'api_key', id: event.api_key_id ?? 'unknown' },
    action: 'usage.ingest',
    resource: { type: 'project', id: String(event.project_id) },
    orgId: String(event.org_id),
    result: 'success',
    details: event.details,
  });
  if (!producer) {
    res.status(503).json({ error: 'no Kafka configured' });
    return;
  }
  await sendUsage(String(event.org_id), event);
  res.status(202).json({ accepted: true, request_id: res.getHeader('x-request-id') });
}));

app.post('/api/v1/orgs/:org/mcp/servers/:server/tools/:tool/invoke', route(async (req, res) => {
  const body = jsonObject(req);
  const { org, server, tool } = req.params;
  const transport = String(body.transport ?? 'stdio');
  let status: 'success' | 'error' | 'timeout' = 'success';
  let reply: any;
  try {
    reply = await traceMcpToolInvocation({ serverId: server, toolName: tool, transport }, () =>
      postJson(`${upstreamUrl}/mcp/tools/${tool}`, body.arguments ?? {}, scope(req), mcpTimeoutMs)
    );
  } catch (error) {
    status = (error as HttpError).timeout ? 'timeout' : 'error';
  }
  trackMcpToolInvocation({ orgId: org, serverId: server, toolName: tool, status });
  const key = `${org}\u0000${transport}`;
  const connected = mcpConnected.get(key) ?? new Set<string>();
  mcpConnected.set(key, connected);
  const was = connected.has(server);
  if (status === 'success') connected.add(server);
  else connected.delete(server);
  mcpServersActive.set({ org_id: org, transport_type: transport }, connected.size);
  if (was !== connected.has(server)) {
    logMcpServerStatus({
      orgId: org, serverId: server, serverName: String(body.server_name ?? server),
      status: status === 'success' ? 'connected' : 'error',
      error: status === 'success' ? undefined : `tool call ${status}`,
    });
  }
  if (status !== 'success') {
    res.status(status === 'timeout' ? 504 : 502).json({ error: `tool ${status}` });
    return;
  }
  res.json(reply);
}));

function evaluate(policyType: string, policy: any, facts: Record<string, any>): 'allow' | 'deny' | 'warn' {
  if (policyType === 'usage') {
    const requested = Number(facts.tokens_requested ?? 0);
    if (Number.isNaN(requested)) return 'deny'; // fails closed
    return requested > policy.max_tokens ? 'deny' : 'allow';
  }
  if (policyType === 'access') return policy.roles.includes(facts.role) ? 'allow' : 'deny';
  return facts.contains_pii ? 'warn' : 'allow';
}

app.post('/api/v1/orgs/:org/policies/evaluate', route(async (req, res) => {
  const body = jsonObject(req);
  const { org } = req.params;
  const policyType = String(body.policy_type ?? 'usage');
  const start = process.hrtime.bigint();
  let policy: any;
  try {
    policy = await traceDbQuery('select', 'policies', async () => {
      poolActive += 1;
      poolGauges();
      try {
        await new Promise((r) => setTimeout(r, 1)); // a round trip's worth
        if (!(policyType in POLICIES)) throw new Error(`no policy of type '${policyType}'`);
        return POLICIES[policyType];
      } finally {
        poolActive -= 1;
        poolGauges();
      }
    });
  } catch (error) {
    res.status(400).json({ error: (error as Error).message });
    return;
  } finally {
    dbQueryDuration.observe({ query_type: 'select', table: 'policies' }, Number(process.hrtime.bigint() - start) / 1e9);
  }
  const context = body.context ?? {};
  const facts = typeof context === 'object' && !Array.isArray(context) ? context : {};
  const result = evaluate(policyType, policy, facts);
  trackPolicyEvaluation({ orgId: org, policyType: policyType as any, result });
  if (result !== 'allow') {
    const policyId = String(body.policy_id ?? `${policyType}-default`);
    const severity = POLICY_SEVERITY[result];
    policyViolations.inc({ org_id: org, policy_id: policyId, severity });
    logPolicyViolation({
      orgId: org, projectId: body.project_id, userId: body.user_id, policyId, policyType,
      violation: `${policyType} policy: ${result}`, severity, context,
    });
  }
  res.json({ result });
}));

app.get('/api/v1/api-keys/:key/usage', route(async (req, res) => {
  const counts = await redisOp('hgetall', () => redis.hGetAll(`usage:key:${req.params.key}`));
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts)) out[k] = Math.trunc(Number(v));
  res.json(out);
}));

app.post('/api/v1/auth/login', route(async (req, res) => {
  const body = jsonObject(req);
  const email = String(body.email ?? '');
  const success = email.includes('@') && Boolean(body.password);
  const forwarded = req.headers['x-forwarded-for'];
  logLoginAttempt({
    email, success, reason: success ? undefined : 'invalid credentials',
    ip: typeof forwarded === 'string' ? forwarded : req.socket.remoteAddress ?? '',
    userAgent: String(req.headers['user-agent'] ?? ''),
  });
  res.status(success ? 200 : 401).json({ ok: success });
}));

app.get('/health/live', (_req, res) => { res.json({ status: 'ok' }); });
app.get('/health/ready', route(async (_req, res) => {
  try {
    await untraced(() => redis.ping());
  } catch (error) {
    res.status(503).json({ status: 'not ready', redis: String(error) });
    return;
  }
  res.json({ status: 'ready', kafka: producer !== undefined });
}));
app.get('/metrics', route(async (req, res) => metricsHandler(req, res)));

app.use((error: any, _req: Request, res: Response, _next: NextFunction) => {
  const status = error instanceof HttpError ? error.statusCode : error.status ?? error.statusCode ?? 500;
  res.status(status).json({ error: error.message ?? String(error) });
});

export async function start(): Promise<void> {
  await redis.connect();
  const bootstrap = process.env.MW_KAFKA_BOOTSTRAP;
  if (bootstrap) {
    const kafka = new Kafka({ clientId: 'api-gateway', brokers: bootstrap.split(','), logLevel: 1 });
    producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
  }
  const port = Number(env('PORT', '3000'));
  app.listen(port, '127.0.0.1', () => console.error(`api-gateway listening on 127.0.0.1:${port}`));
}
