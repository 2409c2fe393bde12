import { parentPort, Worker, type ResourceLimits } from 'node:worker_threads';
import type { Logger } from '../observability/logger.ts';
import { describeError, envelopeErrorResult, type ReviewOutcome } from './handler.ts';

// Reviews in a worker thread, so that the serving thread, which answers the kubelet's probes and every other
// connection, never waits behind a costly one. The serving thread only receives the bytes and hands them over: it
// does not even parse them (a 1 MB pod with 60,000 labels costs 40 ms of JSON.parse and 25 ms of injection; the
// worst VirtualService the limits admit ~25 ms of validation), so with reviews arriving side by side the event
// loop's turns grew to hundreds of milliseconds (a /healthz p99 of 462 ms with 16 worst objects at once,
// bench/webhook-hostile.mjs). In the worker a review also gets what it could not get in the event loop: a deadline
// that stops it, and a heap limit that cannot take the webhook down with it.
//
// One worker, one review in it at a time: the deadline then belongs to exactly one review, and reviews wait in a
// queue here, bounded in count and bytes. Both ends of the protocol live in this module.

/** A review handed to the worker: the bytes as received, and what the reviewers read besides (injector values). */
export interface OffThreadReview {
  path: string;
  contentType: string | undefined;
  body: Uint8Array;
  /** Plain data for the worker's reviewers (structured-cloned with each review; see review-worker.ts). */
  context: unknown;
}

/** Main to worker. Bytes rather than a parsed object: structured cloning recurses and overflows on deep JSON. */
interface ReviewMessage extends OffThreadReview {
  id: number;
}

/** Worker to main: `ready` once its modules are loaded, then one answer per review. */
type WorkerMessage = { ready: true } | { id: number; outcome: ReviewOutcome } | { id: number; error: string };

/** Worker side: answers review messages with `run` until the thread ends. */
export function serveReviewsInThisWorker(run: (review: OffThreadReview) => ReviewOutcome): void {
  const port = parentPort;
  if (!port) throw new Error('serveReviewsInThisWorker runs only in a worker thread');
  port.on('message', ({ id, ...review }: ReviewMessage) => {
    let answer: WorkerMessage;
    try {
      answer = { id, outcome: run(review) };
    } catch (error) {
      answer = { id, error: describeError(error) };
    }
    port.postMessage(answer);
  });
  port.postMessage({ ready: true } satisfies WorkerMessage);
}

export interface ReviewThreadOptions {
  /** The worker's module: one that calls serveReviewsInThisWorker. */
  entry: URL;
  /** How long one review may run in the worker before the worker is stopped and replaced. */
  deadlineMs: number;
  /** How many reviews may wait for the worker; past it (or maxQueuedBytes) a review is refused at once (503). */
  maxQueued: number;
  /** How many body bytes may wait for the worker: queued bodies are held in the serving thread. */
  maxQueuedBytes: number;
  /** How long a review may wait in the queue; past it, it is refused without running (the API server has given up). */
  maxWaitMs: number;
  /** How long the worker is kept without a review before it is stopped (started again by the next one). */
  idleStopMs: number;
  resourceLimits?: ResourceLimits;
  logger: Logger;
}

export interface ReviewThread {
  /** Never rejects: what the worker cannot answer becomes a 503 Status with the reason, and an `unavailable` event. */
  review(review: OffThreadReview): Promise<ReviewOutcome>;
  /** Whether a worker is running now (it is stopped when idle). */
  readonly running: boolean;
  /** Stops the worker; reviews still queued are refused. */
  close(): Promise<void>;
}

interface Queued {
  id: number;
  review: OffThreadReview;
  /** Refuses the review if it is still queued after maxWaitMs (also when no worker is up to take it). */
  waitTimer: NodeJS.Timeout;
  settle: (outcome: ReviewOutcome) => void;
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * Starts the thread's manager. The worker runs only while there is work: a worker is a second V8 isolate, and one
 * started and stopped at start-up raised the peak of the 256 Mi memory test by 10-15 MB for the life of the process
 * (185-190 → 198-207 MB against the 200 MB goal). So the first review starts it (~50 ms), and it is stopped after
 * `idleStopMs` without one. A worker that cannot start refuses the reviews waiting for it at once, with the reason,
 * and the next start is tried after a delay that grows (1 s to 30 s) while it keeps failing.
 */
export function startReviewThread(options: ReviewThreadOptions): ReviewThread {
  const { logger } = options;
  const queue: Queued[] = [];
  let queuedBytes = 0;
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

  /** Removes a queued review (the first by default) and its bytes from the queue's account. */
  const take = (at = 0): Queued | undefined => {
    const [item] = queue.splice(at, 1);
    if (item) queuedBytes -= item.review.body.byteLength;
    return item;
  };

  const unavailable = (item: Queued, why: string): void => {
    clearTimeout(item.waitTimer);
    item.settle({ result: envelopeErrorResult(503, `meshgate review worker: ${why}; the object was not admitted, retry`),
      event: { type: 'unavailable', path: item.review.path, reason: why } });
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
    const item = take();
    if (!item) {
      idleAfter(options.idleStopMs);
      return;
    }
    clearTimeout(item.waitTimer);
    clearTimeout(idleTimer);
    const timer = setTimeout(() => {
      logger.error({ path: item.review.path, deadlineMs: options.deadlineMs }, 'review over its deadline: stopping the review worker');
      stop(`the review took over ${options.deadlineMs} ms and was stopped`, false);
    }, options.deadlineMs);
    inFlight = { item, timer };
    try {
      worker.postMessage({ id: item.id, ...item.review } satisfies ReviewMessage);
    } catch (error) { // not expected for bytes and plain data; never leave the review to its deadline
      clearTimeout(timer);
      inFlight = undefined;
      unavailable(item, `it could not be handed to the worker (${(error as Error).message})`);
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
      if ('outcome' in message) item.settle(message.outcome);
      else {
        logger.error({ path: item.review.path, err: message.error }, 'review worker failed a review');
        unavailable(item, 'the review failed in the worker (logged)');
      }
      pump();
    });
    started.on('error', (error) => { stopping ??= { why: `the worker failed (${error.message})`, planned: false }; });
    started.on('exit', (code) => {
      if (worker !== started) return;
      worker = undefined;
      workerReady = false;
      const why = stopping?.why ?? `the worker exited (code ${code})`;
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
      if (!planned) logger.error({ code, reason: why }, 'review worker stopped');
      if (queue.length > 0) spawn(); // reviews that came while it stopped, or after the one that stopped it
    });
  };

  function failedToStart(why: string): void {
    const delayMs = startFailure ? Math.min(RETRY_MAX_MS, startFailure.delayMs * 2) : RETRY_MIN_MS;
    startFailure = { why, retryAt: Date.now() + delayMs, delayMs };
    logger.error({ reason: why, retryInMs: delayMs }, 'review worker could not start');
    for (let item = take(); item; item = take()) unavailable(item, `the worker could not start (${why})`);
  }

  return {
    get running() { return worker !== undefined; },
    review(review) {
      return new Promise<ReviewOutcome>((resolve) => {
        const item: Queued = {
          id: nextId++,
          review,
          waitTimer: setTimeout(() => {
            const at = queue.indexOf(item);
            if (at >= 0 && take(at)) unavailable(item, `the review waited over ${options.maxWaitMs} ms for the worker`);
          }, options.maxWaitMs),
          settle: resolve,
        };
        const bytes = review.body.byteLength;
        const refusal = closed ? 'the webhook is shutting down'
          : queue.length >= options.maxQueued ? `overloaded (${options.maxQueued} reviews already waiting)`
          : queuedBytes + bytes > options.maxQueuedBytes && queue.length > 0 ? `overloaded (${queuedBytes} bytes of reviews already waiting)`
          : !worker && startFailure && Date.now() < startFailure.retryAt ? `the worker could not start (${startFailure.why})`
          : undefined;
        if (refusal) {
          unavailable(item, refusal);
          return;
        }
        queue.push(item);
        queuedBytes += bytes;
        if (!worker) spawn();
        pump();
      });
    },
    async close() {
      closed = true;
      clearTimeout(idleTimer);
      for (let item = take(); item; item = take()) unavailable(item, 'the webhook is shutting down');
      const last = worker;
      stop('the webhook is shutting down', true);
      await last?.terminate();
    },
  };
}
