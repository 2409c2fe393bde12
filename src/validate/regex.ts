import { RE2Set } from 're2js';
import { measureRegex, regexSizeProblem } from './regex-size.ts';

// Envoy runs RE2, not JavaScript's engine: lookarounds (`(?=`) and backreferences (`\1`) are valid JS but refused
// by RE2, and Envoy NACKs the whole route table when one slips through.
//
// The size is judged first by the shared scan (regex-size.ts), so nothing over the limit is ever expanded. The
// syntax is judged by re2js's parser through RE2Set.add (parse and simplify, no program): RE2's compiler refuses
// nothing its parser accepts except size, and skipping the compile, the one-pass analysis and the prefilter that
// RE2JS.compile also builds makes a check ~4x cheaper (~15 µs for a small pattern).

/** Istio's own validation rule for a regex: its length (in UTF-16 units here, as the Rust side counts too). */
export const MAX_REGEX_LENGTH = 1024;

/**
 * Per object: at most this many regexes, and their distinct patterns at most this much estimated program size in
 * total. The parse is linear in the expansion (~0.5 µs per unit) plus ~15 µs per pattern, so an object at both caps
 * costs ~30 ms of CPU the first time (cached after); one regex at the per-regex limit fits. Repeated patterns count
 * once toward the size (they are parsed once), every time toward the count.
 */
export const MAX_REGEXES_PER_OBJECT = 1000;
export const MAX_PROGRAM_SIZE_PER_OBJECT = 32_768;

/** Answers by pattern, least recently used dropped first: the same patterns recur across routes and reviews. */
const answers = new Map<string, string | undefined>();
const ANSWERS_MAX = 4096;

/** The per-object budget in force (see withRegexBudget); undefined outside one. */
let budget: { count: number; size: number; seen: Set<string> } | undefined;

/**
 * Runs `fn` (the validation of one object) with a budget on its regexes: past MAX_REGEXES_PER_OBJECT regexes or
 * MAX_PROGRAM_SIZE_PER_OBJECT of estimated size, further regexes are refused unchecked. The count does not depend
 * on what is cached, so the same object always gets the same answer. Validation is synchronous: one budget at a time.
 */
export function withRegexBudget<T>(fn: () => T): T {
  const outer = budget;
  budget = { count: 0, size: 0, seen: new Set() };
  try {
    return fn();
  } finally {
    budget = outer;
  }
}

/** undefined when the pattern is valid RE2 within the limits, else why not. */
export function checkRe2(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex is too large, max length allowed is ${MAX_REGEX_LENGTH}`;
  const sizeProblem = regexSizeProblem(pattern);
  if (budget) {
    budget.count += 1;
    if (budget.count > MAX_REGEXES_PER_OBJECT) return `too many regexes in one object (at most ${MAX_REGEXES_PER_OBJECT})`;
    if (sizeProblem === undefined && !budget.seen.has(pattern)) { // one refused on its own is never parsed
      budget.seen.add(pattern);
      budget.size += measureRegex(pattern).size;
      if (budget.size > MAX_PROGRAM_SIZE_PER_OBJECT) {
        return `the object's regexes are too large together (estimated program size over ${MAX_PROGRAM_SIZE_PER_OBJECT} in one object)`;
      }
    }
  }
  return sizeProblem ?? syntaxProblem(pattern);
}

/** RE2's verdict on the syntax of a pattern within the size rule, cached. */
function syntaxProblem(pattern: string): string | undefined {
  if (answers.has(pattern)) {
    const answer = answers.get(pattern);
    answers.delete(pattern); // least recently used goes first
    answers.set(pattern, answer);
    return answer;
  }
  let problem: string | undefined;
  try {
    new RE2Set().add(pattern);
  } catch (error) {
    problem = `${(error as Error).message}; Istio uses RE2 syntax (https://github.com/google/re2/wiki/Syntax)`;
  }
  if (answers.size >= ANSWERS_MAX) answers.delete(answers.keys().next().value as string);
  answers.set(pattern, problem);
  return problem;
}
