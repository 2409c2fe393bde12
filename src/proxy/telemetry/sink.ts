import { pino } from 'pino';

/** A line writer that never blocks the event loop (sonic-boom underneath): logging must not cost latency. */
export interface LineSink {
  write(line: string): void;
  flush(): void;
}

/**
 * Lines are gathered here up to BATCH_CHARS (or for FLUSH_MS at most) and handed to sonic-boom as one string
 * (sonic-boom's own minLength buffering measures its whole buffer again on every line). Measured in bench:proxy:
 * no difference with the access log alone, 0.148 instead of 0.162 vCPU per 1,000 rps with the JSON events on too.
 * Envoy buffers its access log as well.
 */
const BATCH_CHARS = 8 * 1024;
const FLUSH_MS = 100;

/** `fd` 1 or 2, or a file path (appended). Buffered lines are written after FLUSH_MS at the latest, and by flush(). */
export function createSink(target: number | string): LineSink {
  const stream = pino.destination(typeof target === 'number' ? { dest: target, sync: false } : { dest: target, sync: false, append: true, mkdir: true });
  let pending: string[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  const hand = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    stream.write(pending.join(''));
    pending = [];
    size = 0;
  };
  return {
    write: (line) => {
      pending.push(line);
      size += line.length;
      if (size >= BATCH_CHARS) hand();
      // unref: a pending batch never keeps the process alive; the CLI flushes on SIGTERM/SIGINT.
      else timer ??= setTimeout(hand, FLUSH_MS).unref();
    },
    flush: () => {
      hand();
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
