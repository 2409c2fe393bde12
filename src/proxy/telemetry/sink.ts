import { pino } from 'pino';

/** A line writer that never blocks the event loop (sonic-boom underneath): logging must not cost latency. */
export interface LineSink {
  write(line: string): void;
  flush(): void;
}

/** `fd` 1 or 2, or a file path (appended). */
export function createSink(target: number | string): LineSink {
  const stream = pino.destination(typeof target === 'number' ? { dest: target, sync: false } : { dest: target, sync: false, append: true, mkdir: true });
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
