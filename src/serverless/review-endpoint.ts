import { decodeJsonBody, tooLarge } from '../admission/body.ts';
import { createAdmissionHandler, envelopeErrorResult, type AdmissionHandler, type HandlerResult } from '../admission/handler.ts';
import { BODY_LIMIT_BYTES } from '../admission/review.ts';
import { NETWORKING_GROUP } from '../mesh/resources.ts';
import { isRecord } from '../k8s/types.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { functionRanges, functionValues } from './config.ts';

/** What every runtime hands its adapter, once the runtime's own calling convention is peeled off. */
export interface ReviewRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  /** Raw bytes or text, or an object when the runtime already parsed the JSON. */
  body: string | Uint8Array | Record<string, unknown> | undefined;
}

export type ReviewEndpoint = (request: ReviewRequest) => HandlerResult;

/**
 * A runtime that serves one URL only (Knative Functions answer on `/`) cannot route by path, and the API server
 * allows no query string in a webhook URL. There the review itself says which webhook it is for: the mutating
 * configuration sends pods, the validating one networking.istio.io objects.
 */
function pathForReview(body: unknown): string {
  const request = isRecord(body) ? body['request'] : undefined;
  const kind = isRecord(request) ? request['kind'] : undefined;
  return isRecord(kind) && kind['group'] === NETWORKING_GROUP ? '/validate' : '/inject';
}

/**
 * The adapters' shared core over `createAdmissionHandler`, the handler `meshgate webhook` serves: the same routes
 * (`/inject`, `/validate`, and `/` routed by the review), the same body limit and content types, the same answers.
 */
export function createReviewEndpoint(handle: AdmissionHandler): ReviewEndpoint {
  const paths = new Set(handle.paths);
  return ({ method, path, contentType, body }) => {
    const root = path === '/' || path === '';
    if (method !== 'POST' || !(root || paths.has(path))) return envelopeErrorResult(404, `no route for ${method} ${path}`);
    const decoded = decodeJsonBody(contentType, body);
    if (!decoded.ok) return decoded.result;
    return handle(root ? pathForReview(decoded.body) : path, decoded.body);
  };
}

/** A base64 body is checked against the limit before it is decoded, so an oversized one costs no work. */
export function decodeBase64Body(body: string): Uint8Array | HandlerResult {
  if (Math.floor(body.length / 4) * 3 > BODY_LIMIT_BYTES + 3) return tooLarge();
  return Buffer.from(body, 'base64');
}

export interface FunctionEnvironment {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/**
 * Builds the endpoint from the environment (values, ranges). A configuration error does not crash the runtime into
 * a restart loop: every review gets a 500 Status naming the variable, which the API server shows the user.
 */
export function endpointFromEnvironment(options: FunctionEnvironment = {}): ReviewEndpoint {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger('function');
  try {
    const values = functionValues(env);
    const clusterRanges = functionRanges(env, logger);
    return createReviewEndpoint(createAdmissionHandler({ values: () => values, clusterRanges, logger }));
  } catch (error) {
    const message = `meshgate function misconfigured: ${(error as Error).message}`;
    logger.error({ err: (error as Error).message }, 'meshgate function misconfigured');
    return () => ({ status: 500, body: { apiVersion: 'v1', kind: 'Status', status: 'Failure', code: 500, reason: 'InternalError', message } });
  }
}
