import { pino, type Logger } from 'pino';

export type { Logger };

/** One JSON logger for the process; `MESHGATE_LOG_LEVEL` (default info) sets the level. */
export function createLogger(name: string, level = process.env['MESHGATE_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ name, level, base: { component: name } });
}

/** For tests and CLI paths that must print nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
