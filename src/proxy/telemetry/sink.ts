import { pino } from 'pino';

/** A line writer that never blocks the event loop (sonic-boom underneath): logging must not cost latency. */
export interface LineSink {
  write(line: string): void;
  flush(): void;
}

/**
 * Lines are gathered up to BATCH_BYTES (or for at most FLUSH_MS) before a write: one write per request cost a thread
 * pool round trip each, a visible share of the proxy's CPU under load. Envoy buffers its access log too.
 */
const BATCH_BYTES = 8 * 1024;
const FLUSH_MS = 100;

/** `fd` 1 or 2, or a file path (appended). Buffered lines are written at FLUSH_MS at the latest, and by flush(). */
export function createSink(target: number | string): LineSink {
  const batching = { sync: false, minLength: BATCH_BYTES, periodicFlush: FLUSH_MS };
  const stream = pino.destination(typeof target === 'number' ? { dest: target, ...batching } : { dest: target, ...batching, append: true, mkdir: true });
  return {
    write: (line) => { stream.write(line); },
    flush: () => {
      try {
        stream.flushSync();
      } catch {
        // not yet open, or already closed: nothing buffered that can still be written
      }
    },
  };
}

/** Collects lines in memory (tests). */
export function memorySink(): LineSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (line) => { lines.push(line); }, flush: () => undefined };
}
