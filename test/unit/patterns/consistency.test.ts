/**
 * The matcher's shortcuts (judging fields one by one when arrays cannot matter, looking values up by
 * array element, remembering failed states) must agree with the plain definition of array-consistent
 * matching: fields in path order, each using a value consistent with those used before it, or - for
 * exists:false - having no such value.
 */
import { describe, expect, it } from 'vitest';
import { CompiledEventPattern, compilePattern, type Leaf } from '../../../src/engine/patterns/compile.js';
import { PathTree, consistent, flatten, merge, type FlatEvent, type Membership } from '../../../src/engine/patterns/flatten.js';
import { rng } from '../../helpers/random.js';

function reference(branch: readonly Leaf[], event: FlatEvent, i = 0, used: Membership | null = null): boolean {
  if (i === branch.length) return true;
  const leaf = branch[i]!;
  const slot = event.slots.get(leaf.path);
  const values = slot?.values ?? [];
  const memberships = slot?.memberships ?? [];
  if (leaf.absent && !memberships.some((m) => consistent(used, m)) && reference(branch, event, i + 1, used)) return true;
  return values.some((v, k) => consistent(used, memberships[k]!) && leaf.test(v) && reference(branch, event, i + 1, merge(used, memberships[k]!)));
}

describe('array-consistent matching', () => {
  it('agrees with a plain depth-first search on 3,000 random array-heavy cases', () => {
    const random = rng(7);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const values = [1, 2, 3, 'x', 'y', null];
    const matcher = (): unknown => (random() < 0.6 ? pick(values) : pick([{ exists: false }, { exists: true }, { 'anything-but': 'x' }, { numeric: ['>', 1] }]));
    const leafList = (): unknown[] => Array.from({ length: 1 + Math.floor(random() * 2) }, matcher);
    const element = (depth: number): unknown => {
      const out: Record<string, unknown> = {};
      for (const key of ['b', 'c', 'd']) {
        if (random() < 0.35) continue;
        out[key] = depth < 2 && random() < 0.3 ? Array.from({ length: Math.floor(random() * 3) }, () => element(depth + 1)) : random() < 0.2 ? [pick(values), pick(values)] : pick(values);
      }
      return out;
    };
    let matched = 0;
    for (let n = 0; n < 3000; n++) {
      const inner: Record<string, unknown> = {};
      for (const key of ['b', 'c', 'd']) if (random() < 0.6) inner[key] = random() < 0.25 ? { b: leafList(), c: leafList() } : leafList();
      if (Object.keys(inner).length === 0) inner.b = leafList();
      const pattern = random() < 0.2 ? { a: inner, z: leafList() } : { a: inner };
      const compiled = compilePattern(pattern) as CompiledEventPattern;
      const event: Record<string, unknown> = { a: Array.from({ length: Math.floor(random() * 4) }, () => element(0)), z: random() < 0.5 ? [pick(values), pick(values)] : pick(values) };
      // A dotted key puts values at a path both inside and outside the array ({"a.b": v} is also a.b).
      if (random() < 0.25) event[pick(['a.b', 'a.c'])] = pick(values);
      const tree = new PathTree();
      for (const p of compiled.paths) tree.add(p);
      const flat = flatten(event, tree);
      const expected = compiled.branches.some((b) => reference(b, flat));
      expect(compiled.matches(event), JSON.stringify({ pattern, event })).toBe(expected);
      if (expected) matched++;
    }
    expect(matched).toBeGreaterThan(300);
    expect(matched).toBeLessThan(2700);
  });
});
