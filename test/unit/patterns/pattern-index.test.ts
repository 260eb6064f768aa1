import { describe, expect, it } from 'vitest';
import { compilePattern, PatternIndex, type CompiledPattern } from '../../../src/engine/patterns/index.js';
import { rng } from '../../helpers/random.js';

describe('PatternIndex basics', () => {
  it('returns the values of every matching rule, in the order the rules were added', () => {
    const index = new PatternIndex<string>();
    index.add('b', compilePattern({ source: ['app.orders'] }), 'B');
    index.add('a', compilePattern({ source: ['app.orders'], 'detail-type': ['OrderPlaced'] }), 'A');
    index.add('c', compilePattern({ 'detail-type': [{ prefix: 'Order' }] }), 'C');
    index.add('d', compilePattern({ source: ['app.billing'] }), 'D');
    expect(index.size).toBe(4);
    expect(index.match({ source: 'app.orders', 'detail-type': 'OrderPlaced', detail: {} })).toEqual(['B', 'A', 'C']);
    expect(index.match({ source: 'app.billing', 'detail-type': 'Invoice' })).toEqual(['D']);
    expect(index.match({ source: 'other' })).toEqual([]);
  });

  it('replaces a rule added again under the same id, and removes rules', () => {
    const index = new PatternIndex<number>();
    index.add('r', compilePattern({ source: ['x'] }), 1);
    index.add('r', compilePattern({ source: ['y'] }), 2);
    expect(index.size).toBe(1);
    expect(index.match({ source: 'x' })).toEqual([]);
    expect(index.match({ source: 'y' })).toEqual([2]);
    expect(index.remove('r')).toBe(true);
    expect(index.remove('r')).toBe(false);
    expect(index.size).toBe(0);
    expect(index.match({ source: 'y' })).toEqual([]);
  });

  it('reports a rule once even when several of the event values reach it', () => {
    const index = new PatternIndex<string>();
    index.add('r', compilePattern({ resources: ['a', 'b'] }), 'R');
    expect(index.match({ resources: ['a', 'b', 'a'] })).toEqual(['R']);
  });

  it('indexes rules by numbers, booleans and null as their exact values', () => {
    const index = new PatternIndex<string>();
    index.add('n', compilePattern({ detail: { n: [300] } }), 'N');
    index.add('t', compilePattern({ detail: { f: [true] } }), 'T');
    index.add('z', compilePattern({ detail: { z: [null] } }), 'Z');
    expect(index.match(JSON.parse('{"detail": {"n": 300.0, "f": true, "z": null}}'))).toEqual(['N', 'T', 'Z']);
    expect(index.match({ detail: { n: '300', f: 'true', z: 'null' } })).toEqual([]);
  });

  it('evaluates rules with only exists:false, and patterns it did not compile', () => {
    const index = new PatternIndex<string>();
    index.add('absent', compilePattern({ detail: { x: [{ exists: false }] } }), 'ABSENT');
    const custom: CompiledPattern = { matches: (event) => (event as { source?: string }).source === 'custom' };
    index.add('custom', custom, 'CUSTOM');
    expect(index.match({ source: 'custom', detail: {} })).toEqual(['ABSENT', 'CUSTOM']);
    expect(index.match({ source: 'other', detail: { x: 1 } })).toEqual([]);
  });

  it('accepts the event as JSON text and ignores non-objects', () => {
    const index = new PatternIndex<string>();
    index.add('r', compilePattern({ source: ['s'] }), 'R');
    expect(index.match('{"source": "s"}')).toEqual(['R']);
    expect(index.match('not json')).toEqual([]);
    expect(index.match(null)).toEqual([]);
    expect(index.match([{ source: 's' }])).toEqual([]);
  });
});

// ---- differential: PatternIndex.match == every compiled pattern's matches() -------------------------

const STRINGS = ['a', 'b', 'Ab', 'app.orders-1', 'app.orders-2', 'app.billing', 'OrderPlaced', 'OrderShipped', '', '10.0.0.5', 'x.png'];
const NUMBERS = [0, 1, 2, 5, 10, 300, -1, 2.5, 1e10];
const SCALARS: unknown[] = [...STRINGS, ...NUMBERS, true, false, null];
const PATHS = ['source', 'detail-type', 'account', 'detail.a', 'detail.b', 'detail.n', 'detail.items.k', 'detail.items.v', 'detail.tags', 'detail.nested.x', 'detail.ip'];

function makePattern(random: () => number): Record<string, unknown> {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const matcher = (): unknown => {
    const r = random();
    if (r < 0.45) return pick(SCALARS);
    const s = pick(STRINGS.filter((x) => x !== ''));
    switch (Math.floor(random() * 12)) {
      case 0: return { prefix: s.slice(0, 3) };
      case 1: return { suffix: s.slice(-2) };
      case 2: return { 'anything-but': pick(STRINGS) };
      case 3: return { 'anything-but': [pick(NUMBERS), pick(NUMBERS)] };
      case 4: return { 'anything-but': { prefix: s.slice(0, 2) } };
      case 5: return { numeric: ['>', pick(NUMBERS)] };
      case 6: return { numeric: ['>=', -1, '<', pick([1, 5, 300])] };
      case 7: return { exists: random() < 0.5 };
      case 8: return { 'equals-ignore-case': s };
      case 9: return { wildcard: `${s.slice(0, 1)}*` };
      case 10: return { cidr: '10.0.0.0/24' };
      default: return { prefix: { 'equals-ignore-case': s.slice(0, 2) } };
    }
  };
  const fields = (count: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      const parts = pick(PATHS).split('.');
      let node = out;
      for (const part of parts.slice(0, -1)) {
        const next = node[part];
        if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
        node = node[part] as Record<string, unknown>;
      }
      const n = 1 + Math.floor(random() * 3);
      node[parts[parts.length - 1]!] = Array.from({ length: n }, matcher);
    }
    return out;
  };
  // Some rules can only be found by a prefix, or by a field they need.
  const shape = random();
  if (shape < 0.08) return { source: [{ prefix: pick(['app', 'app.orders-', 'app.b', '']) }, ...(random() < 0.5 ? [pick(STRINGS)] : [])], ...fields(Math.floor(random() * 2)) };
  if (shape < 0.16) return { detail: { [pick(['a', 'b', 'n', 'ip'])]: [{ numeric: ['>', pick(NUMBERS)] }, { wildcard: '*a*' }] } };
  // Most rules look like real ones: an exact source (and often detail-type), then conditions.
  const pattern: Record<string, unknown> = {};
  if (random() < 0.75) pattern.source = random() < 0.9 ? [pick(STRINGS.slice(3, 6))] : [pick(STRINGS), pick(STRINGS)];
  if (random() < 0.5) pattern['detail-type'] = [pick(['OrderPlaced', 'OrderShipped'])];
  Object.assign(pattern, fields(Math.floor(random() * 3)));
  if (random() < 0.15) pattern.$or = [fields(1 + Math.floor(random() * 2)), fields(1)];
  if (Object.keys(pattern).length === 0) pattern.source = [pick(STRINGS)];
  return pattern;
}

function makeEvent(random: () => number): Record<string, unknown> {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const maybe = (p: number, value: () => unknown): unknown => (random() < p ? value() : undefined);
  const detail: Record<string, unknown> = {
    a: maybe(0.6, () => pick(SCALARS)),
    b: maybe(0.5, () => (random() < 0.2 ? [pick(SCALARS), pick(SCALARS)] : pick(SCALARS))),
    n: maybe(0.5, () => pick(NUMBERS)),
    items: maybe(0.4, () => Array.from({ length: Math.floor(random() * 3) }, () => ({ k: maybe(0.8, () => pick(SCALARS)), v: maybe(0.6, () => pick(SCALARS)) }))),
    tags: maybe(0.4, () => Array.from({ length: Math.floor(random() * 3) }, () => pick(STRINGS))),
    nested: maybe(0.3, () => (random() < 0.7 ? { x: pick(SCALARS) } : pick(SCALARS))),
    ip: maybe(0.3, () => pick(['10.0.0.5', '10.0.1.5', 'nope'])),
  };
  for (const key of Object.keys(detail)) if (detail[key] === undefined) delete detail[key];
  return {
    version: '0',
    id: 'id',
    source: pick(STRINGS.slice(3, 6)),
    'detail-type': pick(['OrderPlaced', 'OrderShipped', 'Other']),
    account: pick(['111122223333', 'a']),
    time: '2024-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

describe('PatternIndex differential test', () => {
  it('returns exactly the rules whose compiled pattern matches, on 2,500 random patterns x 600 events', () => {
    const random = rng(20240917);
    const index = new PatternIndex<string>();
    const rules = new Map<string, CompiledPattern>();
    for (let i = 0; i < 2500; i++) {
      const compiled = compilePattern(makePattern(random));
      rules.set(`r${i}`, compiled);
      index.add(`r${i}`, compiled, `r${i}`);
    }
    const naive = (event: unknown): string[] => [...rules].filter(([, p]) => p.matches(event)).map(([id]) => id);
    // Every way of filing a rule is exercised (white-box look at the index's routes).
    const routes = new Map<string, number>();
    for (const entry of (index as unknown as { entries: Map<string, { route: { kind: string } }> }).entries.values()) {
      routes.set(entry.route.kind, (routes.get(entry.route.kind) ?? 0) + 1);
    }
    for (const kind of ['exact', 'prefix', 'needs', 'scan']) expect(routes.get(kind) ?? 0).toBeGreaterThan(20);

    let matched = 0;
    for (let e = 0; e < 600; e++) {
      const event = makeEvent(random);
      const expected = naive(event);
      expect(index.match(event)).toEqual(expected);
      matched += expected.length;
      // Churn: remove and re-add some rules, sometimes under a new pattern.
      if (e % 50 === 49) {
        for (let k = 0; k < 100; k++) {
          const id = `r${Math.floor(random() * 2500)}`;
          if (random() < 0.5) {
            index.remove(id);
            rules.delete(id);
          } else {
            const compiled = compilePattern(makePattern(random));
            rules.delete(id); // re-added ids go to the end of the order
            rules.set(id, compiled);
            index.add(id, compiled, id);
          }
        }
        expect(index.size).toBe(rules.size);
      }
    }
    // The generator must actually produce matches for the comparison to mean something.
    expect(matched).toBeGreaterThan(1000);
  });
});
