import { RE2JS } from 're2js';
import { checkRe2 } from '../validate/regex.ts';

/**
 * The compiler's bound on one regex's compiled RE2 program (instructions, as re2js counts them). RE2 matches in
 * linear time, but the program's size is memory and time per byte in every proxy: a pattern like `(a{1,100}){1,100}`
 * parses fine and still expands to ~10^4 instructions. The data plane applies its own size limit as well.
 */
export const MAX_REGEX_PROGRAM_SIZE = 5000;

/** undefined when the pattern is valid RE2 within the limits, else why not. */
export function regexProblem(pattern: string): string | undefined {
  const syntax = checkRe2(pattern); // also the 1024-character limit Istio applies
  if (syntax) return syntax;
  const size = RE2JS.compile(pattern).programSize();
  return size > MAX_REGEX_PROGRAM_SIZE ? `regex program is too large (${size} instructions, the limit is ${MAX_REGEX_PROGRAM_SIZE})` : undefined;
}
