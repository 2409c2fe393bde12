import { parentPort, Worker, type ResourceLimits } from 'node:worker_threads';
import type { Logger } from '../observability/logger.ts';
import type { OffThreadReviewer, Reviewed, Reviewer } from './handler.ts';
import { deny, parseReview, type AdmissionRequest } from './review.ts';

// A reviewer in a worker thread, so that the serving thread, which answers the kubelet's probes and every other
// connection, never waits behind a costly review: the worst VirtualService the limits admit costs ~25 ms of CPU,
// and with reviews arriving side by side the event loop's turns grew to hundreds of milliseconds (a /healthz p99 of
// 462 ms with 16 in parallel, bench/webhook-hostile.mjs). In the worker a review also gets what it could not get in
// the event loop: a deadline that stops it, and a heap limit that cannot take the webhook down with it.
//
// One worker, one review in it at a time: the deadline then belongs to exactly one review, and reviews wait in a
// bounded queue here. Both ends of the protocol live in this module.

/**
 * Main to worker: the review's body as received (the serving thread has parsed and checked it already). Bytes, not
 * the parsed request: structured cloning recurses, and a deeply nested JSON value (which JSON.parse and validation
 * handle) overflows its stack, while a copy of bytes costs the serving thread only a memcpy.
 */
interface ReviewMessage {
  id: number;
  body: Uint8Array;
}

/** Worker to main: `ready` once its modules are loaded, then one answer per review. */
type WorkerMessage = { ready: true } | { id: number; reviewed: Reviewed } | { id: number; error: string };

/** Worker side: answers review messages with `reviewer` until the thread ends. */
export function serveReviewsInThisWorker(reviewer: Reviewer): void {
  const port = parentPort;
  if (!port) throw new Error('serveReviewsInThisWorker runs only in a worker thread');
  port.on('message', ({ id, body }: ReviewMessage) => {
    let answer: WorkerMessage;
    try {
      const { request } = parseReview(JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')));
      answer = { id, reviewed: reviewer(request) };
    } catch (error) {
      answer = { id, error: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error) };
    }
    port.postMessage(answer);
  });
  port.postMessage({ ready: true } satisfies WorkerMessage);
}

export interface ReviewThreadOptions {
  /** The worker's module: one that calls serveReviewsInThisWorker. */
  entry: URL;
  /** What the worker is for, in log lines and denials ("validation"). */
  name: string;
  /** How long one review may run in the worker before the worker is stopped and replaced. */
  deadlineMs: number;
  /** How many reviews may wait for the worker; past it a review is denied at once (503). */
  maxQueued: number;
  /** How long a review may wait in the queue; past it, it is denied without running (the API server has given up). */
  maxWaitMs: number;
  /** How long the worker is kept without a review before it is stopped (started again by the next one). */
  idleStopMs: number;
  resourceLimits?: ResourceLimits;
  logger: Logger;
}

export interface ReviewThread {
  review: OffThreadReviewer;
  /** Whether a worker is running now (it is stopped when idle). */
  readonly running: boolean;
  /** Stops the worker; reviews still queued are denied. */
  close(): Promise<void>;
}

interface Queued {
  id: number;
  request: AdmissionRequest;
  body: Uint8Array;
  /** Denies the review if it is still queued after maxWaitMs (also when no worker is up to take it). */
  waitTimer: NodeJS.Timeout;
  settle: (outcome: { reviewed: Reviewed } | { error: Error }) => void;
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * Starts the thread's manager. The worker runs only while there is work: a worker is a second V8 isolate, and one
 * started and stopped at start-up raised the peak of the 256 Mi memory test by 10-15 MB for the life of the process
 * (185-190 → 198-207 MB against the 200 MB goal). So the first review starts it (~50 ms), and it is stopped after
 * `idleStopMs` without one. A worker that cannot start denies the reviews waiting for it at once, with the reason,
 * and the next start is tried after a delay that grows (1 s to 30 s) while it keeps failing.
 */
export function startReviewThread(options: ReviewThreadOptions): ReviewThread {
  const { logger, name } = options;
  const queue: Queued[] = [];
  let worker: Worker | undefined;
  /** The current worker has loaded its module and takes reviews. */
  let workerReady = false;
  let inFlight: { item: Queued; timer: NodeJS.Timeout } | undefined;
  let nextId = 1;
  let closed = false;
  let idleTimer: NodeJS.Timeout | undefined;
  /** Why we are stopping the current worker: given to a review in flight; `planned` stops are not failures. */
  let stopping: { why: string; planned: boolean } | undefined;
  /** After a worker failed to start: why, and when the next start may be tried. */
  let startFailure: { why: string; retryAt: number; delayMs: number } | undefined;

  const unavailable = (item: Queued, why: string): void => {
    clearTimeout(item.waitTimer);
    item.settle({ reviewed: { response: deny(item.request.uid, 503, `meshgate ${name}: ${why}; the object was not admitted, retry`),
      summary: { result: 'error', reason: 'Unavailable' } } });
  };

  const stop = (why: string, planned: boolean): void => {
    if (!worker) return;
    stopping = { why, planned };
    workerReady = false; // nothing more is sent to it; a review arriving meanwhile waits for the next worker
    void worker.terminate();
  };

  const idleAfter = (ms: number): void => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => { if (!inFlight && queue.length === 0) stop('idle', true); }, ms);
    idleTimer.unref();
  };

  const pump = (): void => {
    if (!worker || !workerReady || inFlight) return;
    const item = queue.shift();
    if (!item) {
      idleAfter(options.idleStopMs);
      return;
    }
    clearTimeout(item.waitTimer);
    clearTimeout(idleTimer);
    const timer = setTimeout(() => {
      logger.error({ uid: item.request.uid, deadlineMs: options.deadlineMs }, `${name} review over its deadline: stopping the worker`);
      stop(`the review took over ${options.deadlineMs} ms and was stopped`, false);
    }, options.deadlineMs);
    inFlight = { item, timer };
    try {
      worker.postMessage({ id: item.id, body: item.body } satisfies ReviewMessage);
    } catch (error) { // not expected for bytes; never leave the review to its deadline
      clearTimeout(timer);
      inFlight = undefined;
      item.settle({ error: error as Error });
      pump();
    }
  };

  const spawn = (): void => {
    let loaded = false;
    let started: Worker;
    try {
      started = new Worker(options.entry, { resourceLimits: options.resourceLimits, stdout: false, stderr: false });
    } catch (error) {
      failedToStart((error as Error).message);
      return;
    }
    worker = started;
    workerReady = false;
    stopping = undefined;
    started.on('message', (message: WorkerMessage) => {
      if ('ready' in message) {
        if (stopping) return; // stopped before it loaded
        loaded = true;
        workerReady = true;
        startFailure = undefined;
        pump();
        return;
      }
      if (!inFlight || inFlight.item.id !== message.id) return;
      const { item, timer } = inFlight;
      clearTimeout(timer);
      inFlight = undefined;
      if ('reviewed' in message) item.settle({ reviewed: message.reviewed });
      else item.settle({ error: new Error(`${name} worker: ${message.error}`) });
      pump();
    });
    started.on('error', (error) => { stopping ??= { why: `the ${name} worker failed (${error.message})`, planned: false }; });
    started.on('exit', (code) => {
      if (worker !== started) return;
      worker = undefined;
      workerReady = false;
      const why = stopping?.why ?? `the ${name} worker exited (code ${code})`;
      const planned = stopping?.planned === true;
      stopping = undefined;
      if (inFlight) {
        clearTimeout(inFlight.timer);
        unavailable(inFlight.item, why);
        inFlight = undefined;
      }
      if (closed) return;
      if (!loaded && !planned) {
        failedToStart(why);
        return;
      }
      if (!planned) logger.error({ code, reason: why }, `${name} worker stopped`);
      if (queue.length > 0) spawn(); // reviews that came while it stopped, or after the one that stopped it
    });
  };

  function failedToStart(why: string): void {
    const delayMs = startFailure ? Math.min(RETRY_MAX_MS, startFailure.delayMs * 2) : RETRY_MIN_MS;
    startFailure = { why, retryAt: Date.now() + delayMs, delayMs };
    logger.error({ reason: why, retryInMs: delayMs }, `${name} worker could not start`);
    for (let item = queue.shift(); item; item = queue.shift()) unavailable(item, `the ${name} worker could not start (${why})`);
  }

  return {
    get running() { return worker !== undefined; },
    review(request, body) {
      return new Promise<Reviewed>((resolve, reject) => {
        const item: Queued = {
          id: nextId++,
          request,
          body,
          waitTimer: setTimeout(() => {
            const at = queue.indexOf(item);
            if (at < 0) return;
            queue.splice(at, 1);
            unavailable(item, `the review waited over ${options.maxWaitMs} ms for the ${name} worker`);
          }, options.maxWaitMs),
          settle: (outcome) => { if ('reviewed' in outcome) resolve(outcome.reviewed); else reject(outcome.error); },
        };
        const refusal = closed ? 'the webhook is shutting down'
          : queue.length >= options.maxQueued ? `overloaded (${options.maxQueued} reviews already waiting)`
          : !worker && startFailure && Date.now() < startFailure.retryAt ? `the ${name} worker could not start (${startFailure.why})`
          : undefined;
        if (refusal) {
          unavailable(item, refusal);
          return;
        }
        queue.push(item);
        if (!worker) spawn();
        pump();
      });
    },
    async close() {
      closed = true;
      clearTimeout(idleTimer);
      for (let item = queue.shift(); item; item = queue.shift()) unavailable(item, 'the webhook is shutting down');
      const last = worker;
      stop('the webhook is shutting down', true);
      await last?.terminate();
    },
  };
}
