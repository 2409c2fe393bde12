/**
 * Whether a JSON body holds more than `budget` separators (`,` and `:` bytes, inside strings too). What a review
 * costs the thread that parses it follows its number of keys and values, not its bytes: a 1 MB pod of 60,000
 * labels costs 40 ms of JSON.parse and 25 ms of injection, a 1 MB pod whose bulk is one annotation string ~1 ms.
 * Counting bytes is ~1 ms per MB and stops at the budget, so it is cheap enough to decide before parsing.
 */
export function exceedsSeparatorBudget(body: Uint8Array, budget: number): boolean {
  let count = 0;
  for (let i = 0; i < body.length; i += 1) {
    const byte = body[i];
    if (byte === 0x2c || byte === 0x3a) {
      count += 1;
      if (count > budget) return true;
    }
  }
  return false;
}
