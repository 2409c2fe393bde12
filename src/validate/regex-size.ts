// The one size rule for RE2 patterns, shared by the webhook's validation, the snapshot compiler and the Rust data
// plane (dataplane/src/route/regex_limit.rs implements the same scan; test/vectors/regex.json proves they agree).
//
// Envoy measures a regex by its compiled RE2 program (runtime key `re2.max_program_size.error_level`); Istio sets
// that key to 32,768 in every proxy's bootstrap. Compiling to measure is what made a 17-byte regex a CPU bomb, and
// each engine counts differently (re2js counts a Unicode class as one instruction, C++ RE2 as many byte ranges, the
// Rust regex crate in bytes of a UTF-8 automaton), so meshgate measures the pattern itself: one linear scan over its
// UTF-16 code units that counts what RE2's compiler emits, weighting atoms by how wide they compile.

/** Istio's limit on a regex, and meshgate's: estimated program size. */
export const MAX_PROGRAM_SIZE = 32_768;
/** RE2 refuses a repeat count above 1,000, also as the product of nested counts. */
export const MAX_REPEAT = 1000;
/** `.`, negated classes, non-ASCII members, `\s`/`\S`: ~8 byte-level instructions in C++ RE2, ~1 KB in Rust. */
export const WIDE_ATOM = 8;
/** Unicode tables (`\p{..}`, `\w`, `\d` and negations: Unicode in the Rust crate): hundreds of byte ranges. */
export const TABLE_ATOM = 128;
const CAP = 1e12; // keeps nested repetitions finite (the Rust side saturates at the same value)
const COUNT_CAP = 100_000; // repeat counts are read saturating here

export interface RegexSize {
  /** Estimated program size, capped at 10^12. */
  size: number;
  /** The smallest RE2 repeat budget the nesting needs: over MAX_REPEAT is invalid RE2. */
  repeatNeed: number;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isFlag = (c: string | undefined): boolean => c !== undefined && (/[a-zA-Z]/.test(c) || c === '-');

/** Measures a pattern in one pass; syntax errors only make it rough (the engine judges the syntax). */
export function measureRegex(pattern: string): RegexSize {
  const p = pattern;
  let pos = 0;

  /** `{n}`, `{n,}`, `{n,m}` at pos (a `{` that is none of these is a literal); counts saturate. */
  const counted = (): { min: number; max: number | undefined } | undefined => {
    let i = pos + 1;
    const num = (): number | undefined => {
      if (!isDigit(p[i])) return undefined;
      let n = 0;
      while (isDigit(p[i])) n = Math.min(COUNT_CAP, n * 10 + Number(p[i++]));
      return n;
    };
    const min = num();
    if (min === undefined) return undefined;
    let max: number | undefined = min;
    if (p[i] === ',') {
      i += 1;
      max = num();
    }
    if (p[i] !== '}') return undefined;
    pos = i + 1;
    return { min, max };
  };

  /** At a backslash: the escape's weight; moves past it (`\Q…\E` quotes many literals). */
  const escape = (): number => {
    const next = p[pos + 1];
    if (next === 'Q') {
      const end = p.indexOf('\\E', pos + 2);
      const stop = end < 0 ? p.length : end;
      const quoted = stop - pos - 2;
      pos = end < 0 ? p.length : end + 2;
      return quoted;
    }
    if (next === 'p' || next === 'P') {
      if (p[pos + 2] === '{') {
        const end = p.indexOf('}', pos + 3);
        pos = end < 0 ? p.length : end + 1;
      } else pos += 3;
      return TABLE_ATOM;
    }
    if (next === 'x' && p[pos + 2] === '{') {
      const end = p.indexOf('}', pos + 3);
      pos = end < 0 ? p.length : end + 1;
      return WIDE_ATOM; // may name any code point
    }
    if (next === 'x') {
      pos += 4;
      return 1;
    }
    pos += 2;
    if (next === 'w' || next === 'W' || next === 'd' || next === 'D') return TABLE_ATOM;
    if (next === 's' || next === 'S') return WIDE_ATOM;
    return 1;
  };

  /** At `[`: the class's weight (tables add up: their union is as large as its parts). */
  const charClass = (): number => {
    pos += 1;
    let wide = false;
    let tables = 0;
    if (p[pos] === '^') {
      wide = true;
      pos += 1;
    }
    if (p[pos] === ']') pos += 1; // a `]` first is a member
    while (pos < p.length && p[pos] !== ']') {
      if (p[pos] === '\\') {
        const weight = escape();
        if (weight === TABLE_ATOM) tables += 1;
        else if (weight === WIDE_ATOM) wide = true;
      } else if (p.startsWith('[:', pos)) {
        const end = p.indexOf(':]', pos + 2);
        pos = end < 0 ? pos + 1 : end + 2;
      } else {
        if (p.charCodeAt(pos) > 0x7f) wide = true;
        pos += 1;
      }
    }
    pos += 1;
    return (wide ? WIDE_ATOM : 1) + tables * TABLE_ATOM;
  };

  /** A sequence of alternatives up to `)` or the end; alternatives add up (each `|` is one instruction). */
  const sequence = (): RegexSize => {
    let size = 0;
    let repeatNeed = 0;
    while (pos < p.length && p[pos] !== ')') {
      const ch = p[pos];
      if (ch === '|') {
        pos += 1;
        size = Math.min(CAP, size + 1);
        continue;
      }
      let atom = 1;
      let atomNeed = 0;
      if (ch === '(') {
        pos += 1;
        let capture = true;
        if (p[pos] === '?') {
          let i = pos + 1;
          while (isFlag(p[i])) i += 1;
          if (p[i] === ')') { // `(?i)`: a flag change, not a group
            pos = i + 1;
            continue;
          }
          if (p[i] === ':') {
            capture = false;
            pos = i + 1;
          } else if (p[pos + 1] === '<' || (p[pos + 1] === 'P' && p[pos + 2] === '<')) {
            const end = p.indexOf('>', pos);
            pos = end < 0 ? p.length : end + 1;
          } else pos += 1; // not RE2: the engine refuses it
        }
        const inner = sequence();
        pos += 1; // `)`
        atom = Math.min(CAP, inner.size + (capture ? 2 : 0));
        atomNeed = inner.repeatNeed;
      } else if (ch === '[') atom = charClass();
      else if (ch === '\\') atom = escape();
      else {
        atom = ch === '.' ? WIDE_ATOM : 1;
        pos += 1;
      }
      // RE2 compiles x* x+ x? with one instruction more; x{n,m} as n copies and (m-n) optional copies; x{n,} as
      // n copies, the last with a loop.
      let grown = atom;
      const op = p[pos];
      if (op === '*' || op === '+' || op === '?') {
        pos += 1;
        if (p[pos] === '?') pos += 1;
        grown = atom + 1;
      } else if (op === '{') {
        const count = counted();
        if (count) {
          if (p[pos] === '?') pos += 1;
          const { min, max } = count;
          if (max === undefined) grown = min === 0 ? atom + 1 : min * atom + 1;
          else grown = min * atom + Math.max(0, max - min) * (atom + 1);
          // RE2's repeat rule: the counts along a nesting multiply (max, or min when open-ended; 0 ends it)
          const m = max === undefined ? min : Math.max(min, max);
          atomNeed = max === 0 ? 0 : m === 0 ? atomNeed : Math.min(CAP, m * Math.max(1, atomNeed));
        }
      }
      size = Math.min(CAP, size + Math.min(CAP, grown));
      repeatNeed = Math.max(repeatNeed, atomNeed);
    }
    return { size, repeatNeed };
  };

  let size = 0;
  let repeatNeed = 0;
  while (pos < p.length) {
    const part = sequence();
    size = Math.min(CAP, size + part.size);
    repeatNeed = Math.max(repeatNeed, part.repeatNeed);
    pos += 1; // an unbalanced `)`: keep counting, the engine reports it
  }
  return { size, repeatNeed };
}

/** undefined when the pattern is within the size rule, else why not (the engine still judges its syntax). */
export function regexSizeProblem(pattern: string): string | undefined {
  const { size, repeatNeed } = measureRegex(pattern);
  if (repeatNeed > MAX_REPEAT) return `invalid repeat count: RE2 allows at most ${MAX_REPEAT} repetitions, also as the product of nested counts`;
  if (size > MAX_PROGRAM_SIZE) {
    return `regex program is too large: estimated ${size >= CAP ? 'over 10^12' : size} instructions, over the limit of ${MAX_PROGRAM_SIZE} (Istio's re2.max_program_size); simplify its counted repetitions or wide classes`;
  }
  return undefined;
}
