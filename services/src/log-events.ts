// Glue (not in the seed): the seed's `logger` (logging/logger.ts, pino with its redact
// paths, censor, serializers and mixin) driven from stdin, for log events no route writes
// (a top-level `ssn`, a secret in a message or in an error). One JSON command a line:
//   {"id": "...", "level": "info", "obj": {...}, "msg": "...", "bindings": {...}, "err": "..."}
// `bindings` makes a child logger (logger.child, as createLogger does); `err` is the message
// of an Error put at obj.err. pino's lines go to stdout; once a line is written (flushed),
// "logged <id>" goes to stderr, so the caller knows the file holds it.
import readline from 'node:readline';
import { logger } from '../seed/logging/logger';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

function logOne(line: string): string {
  const cmd = JSON.parse(line);
  const level = LEVELS.has(cmd.level) ? cmd.level : 'info';
  const obj: Record<string, unknown> = { ...(cmd.obj ?? {}) };
  if (typeof cmd.err === 'string') obj.err = new Error(cmd.err);
  const target = cmd.bindings && Object.keys(cmd.bindings).length ? logger.child(cmd.bindings) : logger;
  (target as any)[level](obj, cmd.msg);
  return String(cmd.id ?? '');
}

const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on('line', (line) => {
  if (!line.trim()) return;
  let id: string;
  try {
    id = logOne(line);
  } catch (error) {
    process.stderr.write(`failed ${(error as Error).message}\n`);
    return;
  }
  logger.flush(() => process.stderr.write(`logged ${id}\n`));
});
input.on('close', () => logger.flush(() => process.exit(0)));
