// The entry of dist/functions.mjs: meshgate's admission webhook for three function runtimes, one export each.
//   Knative Functions:    npx faas-js-runtime dist/functions.mjs                       (export `handle`)
//   Cloud Run functions:  npx functions-framework --source dist/functions.mjs --target admission
//   AWS Lambda:           _HANDLER=functions.handler under aws-lambda-ric               (export `handler`)
// All three share one endpoint, built at import: the values are read and range discovery (when asked) starts during
// the runtime's init, before the first review arrives (see config.ts).
import { cloudRunAdapter } from './cloud-run.ts';
import { knativeAdapter } from './knative.ts';
import { lambdaAdapter } from './lambda.ts';
import { endpointFromEnvironment, type ReviewEndpoint } from './review-endpoint.ts';

const endpoint: ReviewEndpoint = endpointFromEnvironment();
const sharedEndpoint = (): ReviewEndpoint => endpoint;

export const handle = knativeAdapter(sharedEndpoint);
export const admission = cloudRunAdapter(sharedEndpoint);
export const handler = lambdaAdapter(sharedEndpoint);
