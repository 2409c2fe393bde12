/**
 * The strings of an object that validation checks as regexes, in document order: every string under a `regex` key
 * (StringMatch in uri, scheme, method, authority, headers, withoutHeaders, queryParams; CORS allowOrigins) and
 * `uriRegexRewrite.match`. A `regex` key elsewhere is yielded too: preparing one pattern too many costs little,
 * and the budget of prepareRegexes bounds it. Iterative, so no nesting depth can overflow the stack.
 */
export function* regexPatternsIn(object: unknown): Generator<string> {
  const stack: unknown[] = [object];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    const children = Array.isArray(value) ? value as unknown[] : Object.values(value as Record<string, unknown>);
    if (!Array.isArray(value)) {
      const record = value as Record<string, unknown>;
      if (typeof record['regex'] === 'string') yield record['regex'];
      const rewrite = record['uriRegexRewrite'];
      if (typeof rewrite === 'object' && rewrite !== null && typeof (rewrite as Record<string, unknown>)['match'] === 'string') {
        yield (rewrite as Record<string, unknown>)['match'] as string;
      }
    }
    for (let i = children.length - 1; i >= 0; i -= 1) stack.push(children[i]); // document order
  }
}
