/**
 * AWS refuses wildcard patterns that are too non-deterministic ("Rule is too complex - try using fewer
 * wildcard characters or fewer repeating character sequences after a wildcard character"). event-ruler's
 * MachineComplexityEvaluator measures, over every possible input, the largest number of automaton states
 * that can be live at once while matching a field's wildcard expressions. This is the same measure on a
 * plain NFA of the expressions (bytes of the quoted value, `*` = any run of bytes).
 */

/** More simultaneously live states than this is refused (calibrated on AWS-recorded examples). */
export const WILDCARD_COMPLEXITY_LIMIT = 10;

const STAR = -1;
const MAX_SUBSETS = 2000;

function tokens(segments: readonly string[]): number[] {
  const out: number[] = [0x22];
  segments.forEach((segment, i) => {
    if (i > 0) out.push(STAR);
    for (const b of new TextEncoder().encode(segment)) out.push(b);
  });
  out.push(0x22);
  return out;
}

/**
 * The largest number of live states over all inputs, counting each expression's states separately
 * (capped a little above the limit).
 */
export function wildcardComplexity(expressions: readonly (readonly string[])[]): number {
  const machines = expressions.map(tokens);
  // Global state id = offset of the machine + position in it.
  const offsets: number[] = [];
  let total = 0;
  for (const m of machines) {
    offsets.push(total);
    total += m.length + 1;
  }
  const alphabet = new Set<number>();
  for (const m of machines) for (const t of m) if (t !== STAR) alphabet.add(t);
  alphabet.add(-2); // stands for every byte no expression mentions

  const closure = (states: Set<number>): Set<number> => {
    for (let mi = 0; mi < machines.length; mi++) {
      const m = machines[mi]!;
      const base = offsets[mi]!;
      for (let p = 0; p < m.length; p++) {
        if (states.has(base + p) && m[p] === STAR) states.add(base + p + 1);
      }
    }
    return states;
  };

  const step = (states: Set<number>, byte: number): Set<number> => {
    const next = new Set<number>();
    for (let mi = 0; mi < machines.length; mi++) {
      const m = machines[mi]!;
      const base = offsets[mi]!;
      for (let p = 0; p <= m.length; p++) {
        if (!states.has(base + p)) continue;
        if (p < m.length && m[p] === byte) next.add(base + p + 1);
        if (p > 0 && m[p - 1] === STAR) next.add(base + p); // the loop of a '*'
      }
    }
    return closure(next);
  };

  // Live = can still reach the end of its expression; every NFA state here can.
  const start = closure(new Set(offsets));
  let worst = start.size;
  const seen = new Set<string>([[...start].sort((a, b) => a - b).join(',')]);
  const queue: Set<number>[] = [start];
  while (queue.length > 0 && seen.size < MAX_SUBSETS) {
    const current = queue.shift()!;
    for (const byte of alphabet) {
      const next = step(current, byte);
      if (next.size === 0) continue;
      worst = Math.max(worst, next.size);
      if (worst > WILDCARD_COMPLEXITY_LIMIT) return worst;
      const key = [...next].sort((a, b) => a - b).join(',');
      if (!seen.has(key)) {
        seen.add(key);
        queue.push(next);
      }
    }
  }
  return worst;
}
