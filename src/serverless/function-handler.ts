import { decodeJsonBody } from '../admission/body.ts';
import { createAdmissionHandler, type HandlerResult, type Reviewer } from '../admission/handler.ts';
import { defaultValues, type InjectorValues } from '../inject/values.ts';
import type { ClusterRanges } from '../inject/capture.ts';
import { createLogger, type Logger } from '../observability/logger.ts';

/** What generic function runtimes (Knative functions, OpenFaaS, Lambda-style adapters) hand a handler. */
export interface FunctionEvent {
  path: string;
  headers?: Record<string, string | undefined>;
  /** The raw body (a string or bytes), or an object when the runtime already parsed JSON. */
  body: string | Uint8Array | Record<string, unknown> | undefined;
}

export interface FunctionResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface FunctionOptions {
  values?: InjectorValues;
  clusterRanges?: () => ClusterRanges | undefined;
  reviewers?: Record<string, Reviewer>;
  logger?: Logger;
}

/**
 * The webhook as a stateless function: AdmissionReview in, AdmissionReview out. It wraps the same handler the
 * HTTPS server serves, adding only what a runtime leaves to the function: body decoding and the size limit.
 */
export function createFunctionHandler(options: FunctionOptions = {}): (event: FunctionEvent) => FunctionResult {
  const values = options.values ?? defaultValues();
  const handle = createAdmissionHandler({
    values: () => values,
    clusterRanges: options.clusterRanges ?? (() => undefined),
    reviewers: options.reviewers ?? {},
    logger: options.logger ?? createLogger('function'),
  });
  const respond = (result: HandlerResult): FunctionResult => ({
    statusCode: result.status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(result.body),
  });
  return (event) => {
    const type = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === 'content-type')?.[1] ?? 'application/json';
    const decoded = decodeJsonBody(type, event.body);
    return respond(decoded.ok ? handle(event.path, decoded.body) : decoded.result);
  };
}
