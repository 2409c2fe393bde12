// The entry of dist/functions.mjs: meshgate's admission webhook for three function runtimes, one export each.
//   Knative Functions:    npx faas-js-runtime dist/functions.mjs                       (export `handle`)
//   Cloud Run functions:  npx functions-framework --source dist/functions.mjs --target admission
//   AWS Lambda:           _HANDLER=functions.handler under aws-lambda-ric               (export `handler`)
// All three share one endpoint (values and ranges read once from the environment, see config.ts), built on the
// first review rather than at import, so a runtime that imports the module for another export pays nothing twice.
import { cloudRunAdapter } from './cloud-run.ts';
import { knativeAdapter } from './knative.ts';
import { lambdaAdapter } from './lambda.ts';
import { endpointFromEnvironment, type ReviewEndpoint } from './review-endpoint.ts';

let endpoint: ReviewEndpoint | undefined;
const sharedEndpoint = (): ReviewEndpoint => (endpoint ??= endpointFromEnvironment());

export const handle = knativeAdapter(sharedEndpoint);
export const admission = cloudRunAdapter(sharedEndpoint);
export const handler = lambdaAdapter(sharedEndpoint);
