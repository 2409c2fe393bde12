import { RE2JS } from 're2js';
import { checkRe2 } from '../validate/regex.ts';

/**
 * The compiler's bound on one regex's compiled RE2 program (instructions, as re2js counts them). RE2 matches in
 * linear time, but the program's size is memory and time per byte in every proxy: a pattern like `(a{1,100}){1,100}`
 * parses fine and still expands to ~10^4 instructions. The data plane applies its own size limit as well.
 */
export const MAX_REGEX_PROGRAM_SIZE = 5000;

// A recompile of the whole mesh sees the same patterns again; bounded so a flood of distinct ones cannot grow memory.
const answers = new Map<string, string | undefined>();
const ANSWERS_MAX = 4096;

/** undefined when the pattern is valid RE2 within the limits, else why not. */
export function regexProblem(pattern: string): string | undefined {
  if (answers.has(pattern)) return answers.get(pattern);
  let problem = checkRe2(pattern); // also the 1024-character limit Istio applies
  if (problem === undefined) {
    const size = RE2JS.compile(pattern).programSize();
    if (size > MAX_REGEX_PROGRAM_SIZE) problem = `regex program is too large (${size} instructions, the limit is ${MAX_REGEX_PROGRAM_SIZE})`;
  }
  if (answers.size >= ANSWERS_MAX) answers.clear();
  answers.set(pattern, problem);
  return problem;
}
