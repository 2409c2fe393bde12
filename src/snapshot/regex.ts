import { checkRe2 } from '../validate/regex.ts';

/**
 * The compiler's check of a regex: the same rule as the webhook's validation (RE2 syntax, Istio's 1,024-character
 * length and the shared program-size limit of src/validate/regex-size.ts, which the Rust data plane applies too),
 * so what the webhook admits always compiles, and what the compiler passes on always loads in the data plane.
 */
export function regexProblem(pattern: string): string | undefined {
  return checkRe2(pattern);
}
