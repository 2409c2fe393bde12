import { RE2JS } from 're2js';

// Envoy runs RE2, not JavaScript's engine: lookarounds (`(?=`) and backreferences (`\1`) are valid JS but refused
// by RE2, and Envoy NACKs the whole route table when one slips through. re2js is a pure-JS port of RE2's parser
// and compiler.
//
// The work is bounded before anything is compiled: re2js expands counted repetitions the way RE2 does, so a 17-byte
// `x1(?:ab|cd){1000}` costs ~0.1-0.5 s of compile and hundreds of MB. A linear scan estimates the expanded size
// first; only patterns near Envoy's limit are compiled, and the compiled program is measured against the limit.

/** Istio approximates Envoy's program-size limit by length (its validation's only size rule). */
export const MAX_REGEX_LENGTH = 1024;

/**
 * Envoy's `re2.max_program_size.error_level` default: a regex whose compiled RE2 program has more instructions is
 * refused by Envoy's regex engine. (Istio's own bootstrap raises it to 32768 and validates by length only; meshgate
 * keeps Envoy's default, which is what bounds the webhook's work.) re2js's instruction count follows RE2/Go's
 * compiler, an approximation of C++ RE2's ProgramSize.
 */
export const MAX_PROGRAM_SIZE = 100;

/**
 * Patterns whose estimated expansion is beyond this many times the limit are refused without compiling: the
 * estimate stays within ~1.5x of re2js's count for ordinary patterns (literal alternations merge into classes).
 */
const PRECHECK_FACTOR = 2;
/** Each compile costs about as much as 25 instructions of expansion on top (parse, simplify, one-pass analysis). */
const PER_REGEX_WORK = 25;

/**
 * At most this many regexes in one object, and at most this much estimated work summed over them. A distinct small
 * regex costs ~50-100 µs of re2js compile, one at the precheck edge ~150 µs: an object at either cap costs 50-120 ms
 * of CPU once (cached after), a bomb ~2 ms. 1,000 keeps bench/validate.mjs's 1,000-route object valid.
 */
export const MAX_REGEXES_PER_OBJECT = 1000;
export const MAX_REGEX_WORK_PER_OBJECT = 40_000;

const cache = new Map<string, string | undefined>();
const CACHE_LIMIT = 2048;

/**
 * The size RE2 would expand a pattern to, estimated in one pass without building anything: every literal, class,
 * dot, assertion, group and operator counts one, and a counted repetition multiplies what it repeats (`{n,m}` by
 * m, `{n,}` by n). Grammar mistakes only make the estimate rough: re2js judges the syntax afterwards.
 */
export function estimateExpansion(pattern: string): number {
  let pos = 0;
  const cap = 1e12; // keeps nested repetitions finite
  const repeatFactor = (): number | undefined => {
    const ch = pattern[pos];
    if (ch === '*' || ch === '+' || ch === '?') {
      pos += 1;
      if (pattern[pos] === '?') pos += 1;
      return 1;
    }
    if (ch !== '{') return undefined;
    const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(pos, pos + 24));
    if (!m) return undefined; // a literal `{`
    pos += m[0].length;
    if (pattern[pos] === '?') pos += 1;
    const min = Number(m[1]);
    const max = m[3] ? Number(m[3]) : undefined;
    return max ?? Math.max(min, 1);
  };
  /** Skips an escape at a backslash; returns how many literals it stands for (`\Q…\E` quotes many). */
  const skipEscape = (): number => {
    const next = pattern[pos + 1];
    if (next === 'Q') {
      const end = pattern.indexOf('\\E', pos + 2);
      const stop = end < 0 ? pattern.length : end;
      const quoted = Math.max(stop - pos - 2, 1);
      pos = end < 0 ? pattern.length : end + 2;
      return quoted;
    }
    if ((next === 'p' || next === 'P' || next === 'x') && pattern[pos + 2] === '{') {
      const end = pattern.indexOf('}', pos + 3);
      pos = end < 0 ? pattern.length : end + 1;
      return 1;
    }
    pos += next === 'x' ? 4 : 2;
    return 1;
  };
  const skipClass = (): void => {
    // at `[`: a `]` right after `[` or `[^` is a literal
    pos += 1;
    if (pattern[pos] === '^') pos += 1;
    if (pattern[pos] === ']') pos += 1;
    while (pos < pattern.length && pattern[pos] !== ']') {
      if (pattern[pos] === '\\') void skipEscape();
      else if (pattern.startsWith('[:', pos)) {
        const end = pattern.indexOf(':]', pos + 2);
        pos = end < 0 ? pos + 1 : end + 2;
      } else pos += 1;
    }
    pos += 1;
  };
  // Alternation: every branch is compiled, so branches add up.
  const sequence = (): number => {
    let total = 0;
    while (pos < pattern.length && pattern[pos] !== ')') {
      const ch = pattern[pos];
      let size = 1;
      if (ch === '|') {
        pos += 1;
        total += 1;
        continue;
      } else if (ch === '(') {
        pos += 1;
        if (pattern[pos] === '?') {
          const flags = /^\?[a-zA-Z-]*\)/.exec(pattern.slice(pos, pos + 16));
          if (flags) { // `(?i)`: a flag change, not a group
            pos += flags[0].length;
            continue;
          }
          const named = /^\?P?<[^>]*>/.exec(pattern.slice(pos, pos + 64));
          pos += named ? named[0].length : (/^\?[a-zA-Z-]*:/.exec(pattern.slice(pos, pos + 16))?.[0].length ?? 1);
        }
        size = sequence() + 2;
        pos += 1; // `)`
      } else if (ch === '[') {
        skipClass();
      } else if (ch === '\\') {
        size = skipEscape();
      } else {
        pos += 1;
      }
      const factor = repeatFactor();
      total = Math.min(cap, total + (factor === undefined ? size : size * factor + 1));
    }
    return total;
  };
  let total = 0;
  while (pos < pattern.length) {
    total = Math.min(cap, total + sequence());
    pos += 1; // an unbalanced `)`: keep counting, re2js reports it
  }
  return total;
}

/** The per-object budget currently in force (see withRegexBudget); undefined outside one. */
let budget: { count: number; work: number } | undefined;

/**
 * Runs `fn` (the validation of one object) with a budget on its regexes: past MAX_REGEXES_PER_OBJECT regexes or
 * MAX_REGEX_WORK_PER_OBJECT of estimated expansion, further regexes are refused unchecked. Validation is
 * synchronous, so one budget at a time is in force.
 */
export function withRegexBudget<T>(fn: () => T): T {
  const outer = budget;
  budget = { count: 0, work: 0 };
  try {
    return fn();
  } finally {
    budget = outer;
  }
}

/** undefined when the pattern is valid RE2 within Envoy's limits, else why not. */
export function checkRe2(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex is too large, max length allowed is ${MAX_REGEX_LENGTH}`;
  const estimate = estimateExpansion(pattern);
  if (budget) {
    budget.count += 1;
    budget.work += PER_REGEX_WORK + Math.min(estimate, MAX_PROGRAM_SIZE * PRECHECK_FACTOR + 1);
    if (budget.count > MAX_REGEXES_PER_OBJECT) return `too many regexes in one object (at most ${MAX_REGEXES_PER_OBJECT})`;
    if (budget.work > MAX_REGEX_WORK_PER_OBJECT) {
      return `the object's regexes are too large together (estimated program size over ${MAX_REGEX_WORK_PER_OBJECT} in one object)`;
    }
  }
  if (estimate > MAX_PROGRAM_SIZE * PRECHECK_FACTOR) {
    return `regex program is too large: its repetitions expand to about ${estimate >= 1e12 ? 'more than 10^12' : estimate} instructions, over Envoy's re2.max_program_size of ${MAX_PROGRAM_SIZE}`;
  }
  if (cache.has(pattern)) return cache.get(pattern);
  let problem: string | undefined;
  try {
    const size = programSize(RE2JS.compile(pattern));
    if (size > MAX_PROGRAM_SIZE) problem = `regex program size ${size} exceeds Envoy's re2.max_program_size of ${MAX_PROGRAM_SIZE}; simplify the regex (fewer or smaller counted repetitions)`;
  } catch (error) {
    problem = `${(error as Error).message}; Istio uses RE2 syntax (https://github.com/google/re2/wiki/Syntax)`;
  }
  // Bounded: the same few patterns recur across routes and requests; a flood of distinct ones must not grow memory.
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(pattern, problem);
  return problem;
}

/** The compiled program's instruction count (re2js keeps the program on its RE2 instance, not in its typings). */
function programSize(compiled: RE2JS): number {
  const re2 = (compiled as unknown as { re2Input?: { prog?: { numInst?: () => number } } }).re2Input;
  const size = re2?.prog?.numInst?.();
  if (typeof size !== 'number') throw new Error('re2js internals changed: no program size');
  return size;
}
