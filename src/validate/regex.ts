import { RE2JS } from 're2js';

// Envoy runs RE2, not JavaScript's engine: lookarounds (`(?=`) and backreferences (`\1`) are valid JS but refused
// by RE2, and Envoy NACKs the whole route table when one slips through. re2js is a pure-JS port of RE2's parser.

/** Istio approximates Envoy's program-size limit by length. */
export const MAX_REGEX_LENGTH = 1024;

const cache = new Map<string, string | undefined>();
const CACHE_LIMIT = 2048;

/** undefined when the pattern is valid RE2, else why not. */
export function checkRe2(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex is too large, max length allowed is ${MAX_REGEX_LENGTH}`;
  if (cache.has(pattern)) return cache.get(pattern);
  let problem: string | undefined;
  try {
    RE2JS.compile(pattern);
  } catch (error) {
    problem = `${(error as Error).message}; Istio uses RE2 syntax (https://github.com/google/re2/wiki/Syntax)`;
  }
  // Bounded: the same few patterns recur across routes and requests; a flood of distinct ones must not grow memory.
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(pattern, problem);
  return problem;
}
