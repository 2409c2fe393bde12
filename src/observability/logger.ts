import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** The longest string any log field carries: request fields are attacker-sized (a 7 MiB uid is a valid JSON string). */
export const MAX_LOGGED_STRING = 256;
const MAX_DEPTH = 4;
const MAX_ITEMS = 32;

function capString(value: string): string {
  if (value.length <= MAX_LOGGED_STRING) return value;
  return `${value.slice(0, MAX_LOGGED_STRING)}…[truncated, ${value.length} chars]`;
}

/** A copy of a log field with every string capped, and objects cut at a depth and a key or item count. */
export function capLogValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return capString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (value instanceof Error) {
    return { type: value.name, message: capString(value.message), stack: value.stack === undefined ? undefined : capString(value.stack) };
  }
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((item) => capLogValue(item, depth + 1));
    return value.length > MAX_ITEMS ? [...items, `[${value.length - MAX_ITEMS} more]`] : items;
  }
  const out: Record<string, unknown> = {};
  let count = 0;
  for (const key of Object.keys(value)) {
    if (count === MAX_ITEMS) {
      out['…'] = 'more keys truncated';
      break;
    }
    out[capString(key)] = capLogValue((value as Record<string, unknown>)[key], depth + 1);
    count += 1;
  }
  return out;
}

/**
 * One JSON logger for the process; `MESHGATE_LOG_LEVEL` (default info) sets the level. Every field and message
 * passes through capLogValue first, so no input can make a log line longer than a few KB.
 */
export function createLogger(name: string, level = process.env['MESHGATE_LOG_LEVEL'] ?? 'info', destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    base: { component: name },
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(this, args.map((arg) => capLogValue(arg)));
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** For tests and CLI paths that must print nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
