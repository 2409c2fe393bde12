//! The one size rule for regexes, shared with the TypeScript side (src/validate/regex-size.ts, the same scan
//! step for step over UTF-16 code units; test/vectors/regex/limits.json proves both agree). The control plane
//! already refuses what breaks it; the proxy applies it again so a snapshot from anywhere cannot load a regex the
//! webhook would have refused, and so the regex crate's own byte limit is never the rule.

/// Istio's `re2.max_program_size.error_level` (32,768), applied to the estimated program size.
pub const MAX_PROGRAM_SIZE: u64 = 32_768;
/// RE2 refuses a repeat count above 1,000, also as the product of nested counts (the regex crate does not).
pub const MAX_REPEAT: u64 = 1000;
/// Istio's length rule for a regex, in UTF-16 code units as the TypeScript side counts.
pub const MAX_REGEX_LENGTH: usize = 1024;
/// `.`, negated classes, non-ASCII members, `\s`/`\S`.
pub const WIDE_ATOM: u64 = 8;
/// Unicode tables: `\p{..}`, `\w`, `\d` and their negations.
pub const TABLE_ATOM: u64 = 128;
/// The regex crate counts its compiled automaton in bytes: at most ~400 per unit of the estimate (measured: `\w`
/// is ~50 KB per copy at 128 units), so 512 per unit means a pattern within the rule always builds.
pub const REGEX_SIZE_LIMIT: usize = MAX_PROGRAM_SIZE as usize * 512;

const CAP: u64 = 1_000_000_000_000;
const COUNT_CAP: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegexSize {
    /// Estimated program size, capped at 10^12.
    pub size: u64,
    /// The smallest RE2 repeat budget the nesting needs: over MAX_REPEAT is invalid RE2.
    pub repeat_need: u64,
}

struct Scan {
    p: Vec<u16>,
    pos: usize,
}

const fn u(c: char) -> u16 {
    c as u16
}

impl Scan {
    fn at(&self, i: usize) -> Option<u16> {
        self.p.get(i).copied()
    }
    fn is(&self, i: usize, c: char) -> bool {
        self.at(i) == Some(u(c))
    }
    fn digit(&self, i: usize) -> Option<u64> {
        self.at(i).filter(|c| (u('0')..=u('9')).contains(c)).map(|c| u64::from(c - u('0')))
    }
    fn find(&self, from: usize, needle: &[u16]) -> Option<usize> {
        if from > self.p.len() {
            return None;
        }
        self.p[from..].windows(needle.len()).position(|w| w == needle).map(|i| i + from)
    }

    /// `{n}`, `{n,}`, `{n,m}` at pos; a `{` that is none of these is a literal. Counts saturate.
    fn counted(&mut self) -> Option<(u64, Option<u64>)> {
        let mut i = self.pos + 1;
        let num = |i: &mut usize| -> Option<u64> {
            self.digit(*i)?;
            let mut n = 0u64;
            while let Some(d) = self.digit(*i) {
                n = (n * 10 + d).min(COUNT_CAP);
                *i += 1;
            }
            Some(n)
        };
        let min = num(&mut i)?;
        let mut max = Some(min);
        if self.is(i, ',') {
            i += 1;
            max = num(&mut i);
        }
        if !self.is(i, '}') {
            return None;
        }
        self.pos = i + 1;
        Some((min, max))
    }

    /// At a backslash: the escape's weight; moves past it.
    fn escape(&mut self) -> u64 {
        let next = self.at(self.pos + 1);
        if next == Some(u('Q')) {
            let end = self.find(self.pos + 2, &[u('\\'), u('E')]);
            let stop = end.unwrap_or(self.p.len());
            let quoted = stop.saturating_sub(self.pos + 2) as u64;
            self.pos = end.map_or(self.p.len(), |e| e + 2);
            return quoted;
        }
        if next == Some(u('p')) || next == Some(u('P')) {
            if self.is(self.pos + 2, '{') {
                self.pos = self.find(self.pos + 3, &[u('}')]).map_or(self.p.len(), |e| e + 1);
            } else {
                self.pos += 3;
            }
            return TABLE_ATOM;
        }
        if next == Some(u('x')) && self.is(self.pos + 2, '{') {
            self.pos = self.find(self.pos + 3, &[u('}')]).map_or(self.p.len(), |e| e + 1);
            return WIDE_ATOM;
        }
        if next == Some(u('x')) {
            self.pos += 4;
            return 1;
        }
        self.pos += 2;
        match next.and_then(|c| char::from_u32(u32::from(c))) {
            Some('w' | 'W' | 'd' | 'D') => TABLE_ATOM,
            Some('s' | 'S') => WIDE_ATOM,
            _ => 1,
        }
    }

    /// At `[`: the class's weight (tables add up).
    fn char_class(&mut self) -> u64 {
        self.pos += 1;
        let mut wide = false;
        let mut tables = 0u64;
        if self.is(self.pos, '^') {
            wide = true;
            self.pos += 1;
        }
        if self.is(self.pos, ']') {
            self.pos += 1;
        }
        while self.pos < self.p.len() && !self.is(self.pos, ']') {
            if self.is(self.pos, '\\') {
                match self.escape() {
                    TABLE_ATOM => tables += 1,
                    WIDE_ATOM => wide = true,
                    _ => {}
                }
            } else if self.is(self.pos, '[') && self.is(self.pos + 1, ':') {
                self.pos = self.find(self.pos + 2, &[u(':'), u(']')]).map_or(self.pos + 1, |e| e + 2);
            } else {
                if self.at(self.pos).is_some_and(|c| c > 0x7f) {
                    wide = true;
                }
                self.pos += 1;
            }
        }
        self.pos += 1;
        (if wide { WIDE_ATOM } else { 1 }) + tables * TABLE_ATOM
    }

    fn is_flag(&self, i: usize) -> bool {
        self.at(i).is_some_and(|c| c == u('-') || char::from_u32(u32::from(c)).is_some_and(|c| c.is_ascii_alphabetic()))
    }

    /// A sequence of alternatives up to `)` or the end.
    fn sequence(&mut self) -> RegexSize {
        let mut size = 0u64;
        let mut repeat_need = 0u64;
        while self.pos < self.p.len() && !self.is(self.pos, ')') {
            if self.is(self.pos, '|') {
                self.pos += 1;
                size = (size + 1).min(CAP);
                continue;
            }
            let atom;
            let mut atom_need = 0u64;
            if self.is(self.pos, '(') {
                self.pos += 1;
                let mut capture = true;
                if self.is(self.pos, '?') {
                    let mut i = self.pos + 1;
                    while self.is_flag(i) {
                        i += 1;
                    }
                    if self.is(i, ')') {
                        self.pos = i + 1;
                        continue;
                    }
                    if self.is(i, ':') {
                        capture = false;
                        self.pos = i + 1;
                    } else if self.is(self.pos + 1, '<') || (self.is(self.pos + 1, 'P') && self.is(self.pos + 2, '<')) {
                        self.pos = self.find(self.pos, &[u('>')]).map_or(self.p.len(), |e| e + 1);
                    } else {
                        self.pos += 1;
                    }
                }
                let inner = self.sequence();
                self.pos += 1;
                atom = (inner.size + if capture { 2 } else { 0 }).min(CAP);
                atom_need = inner.repeat_need;
            } else if self.is(self.pos, '[') {
                atom = self.char_class();
            } else if self.is(self.pos, '\\') {
                atom = self.escape();
            } else {
                atom = if self.is(self.pos, '.') { WIDE_ATOM } else { 1 };
                self.pos += 1;
            }
            let mut grown = atom;
            if self.is(self.pos, '*') || self.is(self.pos, '+') || self.is(self.pos, '?') {
                self.pos += 1;
                if self.is(self.pos, '?') {
                    self.pos += 1;
                }
                grown = atom + 1;
            } else if self.is(self.pos, '{') {
                if let Some((min, max)) = self.counted() {
                    if self.is(self.pos, '?') {
                        self.pos += 1;
                    }
                    grown = match max {
                        None if min == 0 => atom + 1,
                        None => min * atom + 1,
                        Some(max) => min * atom + max.saturating_sub(min) * (atom + 1),
                    };
                    let m = max.map_or(min, |max| max.max(min));
                    atom_need = if max == Some(0) {
                        0
                    } else if m == 0 {
                        atom_need
                    } else {
                        (m * atom_need.max(1)).min(CAP)
                    };
                }
            }
            size = (size + grown.min(CAP)).min(CAP);
            repeat_need = repeat_need.max(atom_need);
        }
        RegexSize { size, repeat_need }
    }
}

/// Measures a pattern in one pass; syntax errors only make it rough (the regex crate judges the syntax).
pub fn measure_regex(pattern: &str) -> RegexSize {
    let mut scan = Scan { p: pattern.encode_utf16().collect(), pos: 0 };
    let mut total = RegexSize { size: 0, repeat_need: 0 };
    while scan.pos < scan.p.len() {
        let part = scan.sequence();
        total.size = (total.size + part.size).min(CAP);
        total.repeat_need = total.repeat_need.max(part.repeat_need);
        scan.pos += 1;
    }
    total
}

/// Ok when the pattern is within the length and size rules (the regex crate still judges its syntax).
pub fn check_regex_limits(pattern: &str) -> Result<(), String> {
    if pattern.encode_utf16().count() > MAX_REGEX_LENGTH {
        return Err(format!("regex is too large, max length allowed is {MAX_REGEX_LENGTH}"));
    }
    let RegexSize { size, repeat_need } = measure_regex(pattern);
    if repeat_need > MAX_REPEAT {
        return Err(format!(
            "invalid repeat count: RE2 allows at most {MAX_REPEAT} repetitions, also as the product of nested counts"
        ));
    }
    if size > MAX_PROGRAM_SIZE {
        return Err(format!(
            "regex program is too large: estimated {size} instructions, over the limit of {MAX_PROGRAM_SIZE}"
        ));
    }
    Ok(())
}
