import { CompiledEventPattern, type Anchor, type CompiledPattern, type PrefixAnchor } from './compile.js';
import { PathTree, eventRoot, flatten } from './flatten.js';
import type { Scalar } from './values.js';

/** How a rule is found: by an exact value, by a prefix, by a field it needs, or by looking at it always. */
type Route =
  | { readonly kind: 'exact'; readonly anchor: Anchor }
  | { readonly kind: 'prefix'; readonly anchor: PrefixAnchor }
  | { readonly kind: 'needs'; readonly path: string }
  | { readonly kind: 'scan' };

interface Entry<T> {
  readonly id: string;
  readonly pattern: CompiledPattern;
  /** The pattern when it is one of ours (it can use the shared flattened event and be indexed). */
  readonly compiled: CompiledEventPattern | null;
  readonly value: T;
  readonly seq: number;
  readonly route: Route;
  /** The match() call that last looked at this entry, so a rule is evaluated at most once per event. */
  stamp: number;
}

interface PrefixBuckets<T> {
  /** prefix length -> how many (rule, prefix) registrations have it */
  readonly lengths: Map<number, number>;
  readonly byPrefix: Map<string, Set<Entry<T>>>;
}

/** Fields every event carries: a rule that merely needs one of them is not narrowed down by it. */
const ENVELOPE = new Set(['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources']);

const PATH_PREFERENCE = new Map([
  ['source', 0],
  ['detail-type', 1],
]);

function preferred(a: Anchor, b: Anchor): boolean {
  if (a.values.length !== b.values.length) return a.values.length < b.values.length;
  return (PATH_PREFERENCE.get(a.path) ?? 2) < (PATH_PREFERENCE.get(b.path) ?? 2);
}

function addTo<K, T>(map: Map<K, Set<Entry<T>>>, key: K, entry: Entry<T>): void {
  let bucket = map.get(key);
  if (bucket === undefined) {
    bucket = new Set();
    map.set(key, bucket);
  }
  bucket.add(entry);
}

function removeFrom<K, T>(map: Map<K, Set<Entry<T>>>, key: K, entry: Entry<T>): void {
  const bucket = map.get(key);
  if (bucket === undefined) return;
  bucket.delete(entry);
  if (bucket.size === 0) map.delete(key);
}

/**
 * Many rules, one event: finds every rule whose pattern matches.
 *
 * Each rule is filed under one field, chosen when it is added:
 * - an "anchor" whose match values are all exact scalars in every `$or` alternative (for example
 *   `source`): only rules filed under the values the event actually has there are evaluated;
 * - failing that, a field whose values are all exact strings or prefixes: only rules filed under a prefix
 *   of the event's value there are evaluated;
 * - failing that, a field outside the envelope that every alternative needs: evaluated only when the
 *   event has that field;
 * - otherwise the rule is evaluated for every event.
 * The event is flattened once per call, walking only the parts some rule reads.
 */
export class PatternIndex<T> {
  private readonly entries = new Map<string, Entry<T>>();
  /** anchor path -> exact value -> rules */
  private readonly exact = new Map<string, Map<Scalar, Set<Entry<T>>>>();
  /** anchor path -> prefixes -> rules */
  private readonly prefixed = new Map<string, PrefixBuckets<T>>();
  /** needed path -> rules */
  private readonly needs = new Map<string, Set<Entry<T>>>();
  /** rules evaluated for every event */
  private readonly scan = new Set<Entry<T>>();
  /** the paths all rules read: the parts of an event worth flattening */
  private readonly wanted = new PathTree();
  private seq = 0;
  private stamp = 0;

  /** Adds a rule, replacing any rule with the same id. */
  add(id: string, pattern: CompiledPattern, value: T): void {
    this.remove(id);
    const compiled = pattern instanceof CompiledEventPattern ? pattern : null;
    const route = compiled === null ? ({ kind: 'scan' } as const) : this.chooseRoute(compiled);
    const entry: Entry<T> = { id, pattern, compiled, value, seq: this.seq++, route, stamp: 0 };
    this.entries.set(id, entry);
    if (compiled !== null) for (const p of compiled.paths) this.wanted.add(p);
    switch (route.kind) {
      case 'exact': {
        let byValue = this.exact.get(route.anchor.path);
        if (byValue === undefined) {
          byValue = new Map();
          this.exact.set(route.anchor.path, byValue);
        }
        for (const v of route.anchor.values) addTo(byValue, v, entry);
        break;
      }
      case 'prefix': {
        let buckets = this.prefixed.get(route.anchor.path);
        if (buckets === undefined) {
          buckets = { lengths: new Map(), byPrefix: new Map() };
          this.prefixed.set(route.anchor.path, buckets);
        }
        for (const p of route.anchor.prefixes) {
          buckets.lengths.set(p.length, (buckets.lengths.get(p.length) ?? 0) + 1);
          addTo(buckets.byPrefix, p, entry);
        }
        break;
      }
      case 'needs':
        addTo(this.needs, route.path, entry);
        break;
      case 'scan':
        this.scan.add(entry);
    }
  }

  /** Removes a rule; false when there was none with that id. */
  remove(id: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    this.entries.delete(id);
    if (entry.compiled !== null) for (const p of entry.compiled.paths) this.wanted.remove(p);
    const route = entry.route;
    switch (route.kind) {
      case 'exact': {
        const byValue = this.exact.get(route.anchor.path);
        if (byValue === undefined) break;
        for (const v of route.anchor.values) removeFrom(byValue, v, entry);
        if (byValue.size === 0) this.exact.delete(route.anchor.path);
        break;
      }
      case 'prefix': {
        const buckets = this.prefixed.get(route.anchor.path);
        if (buckets === undefined) break;
        for (const p of route.anchor.prefixes) {
          const n = (buckets.lengths.get(p.length) ?? 0) - 1;
          if (n <= 0) buckets.lengths.delete(p.length);
          else buckets.lengths.set(p.length, n);
          removeFrom(buckets.byPrefix, p, entry);
        }
        if (buckets.byPrefix.size === 0) this.prefixed.delete(route.anchor.path);
        break;
      }
      case 'needs':
        removeFrom(this.needs, route.path, entry);
        break;
      case 'scan':
        this.scan.delete(entry);
    }
    return true;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The values of all rules matching the event, in the order the rules were added. */
  match(event: unknown): T[] {
    if (this.entries.size === 0) return [];
    const root = eventRoot(event);
    const stamp = ++this.stamp;
    const found: Entry<T>[] = [];
    if (root === null) {
      for (const entry of this.scan) if (entry.compiled === null && entry.pattern.matches(event)) found.push(entry);
      return found.map((e) => e.value);
    }
    const flat = flatten(root, this.wanted);
    const slots = flat.slots;

    const consider = (bucket: Set<Entry<T>>): void => {
      for (const entry of bucket) {
        if (entry.stamp === stamp) continue;
        entry.stamp = stamp;
        if (entry.compiled!.matchesFlat(flat)) found.push(entry);
      }
    };

    for (const [path, byValue] of this.exact) {
      const slot = slots.get(path);
      if (slot === undefined) continue;
      for (const v of slot.values) {
        const bucket = byValue.get(v);
        if (bucket !== undefined) consider(bucket);
      }
    }
    for (const [path, buckets] of this.prefixed) {
      const slot = slots.get(path);
      if (slot === undefined) continue;
      for (const v of slot.values) {
        if (typeof v !== 'string') continue;
        for (const length of buckets.lengths.keys()) {
          if (length > v.length) continue;
          const bucket = buckets.byPrefix.get(length === v.length ? v : v.substring(0, length));
          if (bucket !== undefined) consider(bucket);
        }
      }
    }
    for (const [path, bucket] of this.needs) {
      if (slots.has(path)) consider(bucket);
    }
    for (const entry of this.scan) {
      if (entry.compiled === null ? entry.pattern.matches(event) : entry.compiled.matchesFlat(flat)) found.push(entry);
    }
    if (found.length > 1) found.sort((a, b) => a.seq - b.seq);
    return found.map((e) => e.value);
  }

  private chooseRoute(compiled: CompiledEventPattern): Route {
    const anchor = this.chooseExact(compiled.anchors);
    if (anchor !== null) return { kind: 'exact', anchor };
    let bestPrefix: PrefixAnchor | null = null;
    let bestCost = Infinity;
    for (const candidate of compiled.prefixAnchors) {
      const buckets = this.prefixed.get(candidate.path);
      let cost = 0;
      if (buckets !== undefined) for (const p of candidate.prefixes) cost += buckets.byPrefix.get(p)?.size ?? 0;
      if (cost < bestCost) {
        bestPrefix = candidate;
        bestCost = cost;
      }
    }
    if (bestPrefix !== null) return { kind: 'prefix', anchor: bestPrefix };
    let bestPath: string | null = null;
    bestCost = Infinity;
    for (const path of compiled.required) {
      if (ENVELOPE.has(path)) continue;
      const cost = this.needs.get(path)?.size ?? 0;
      if (cost < bestCost) {
        bestPath = path;
        bestCost = cost;
      }
    }
    return bestPath === null ? { kind: 'scan' } : { kind: 'needs', path: bestPath };
  }

  /**
   * The exact anchor whose values currently hold the fewest rules; ties go to fewer values, then to the
   * field that usually tells rules apart best (source, then detail-type, then any other).
   */
  private chooseExact(anchors: readonly Anchor[]): Anchor | null {
    let best: Anchor | null = null;
    let bestCost = Infinity;
    for (const anchor of anchors) {
      const byValue = this.exact.get(anchor.path);
      let cost = 0;
      if (byValue !== undefined) for (const v of anchor.values) cost += byValue.get(v)?.size ?? 0;
      if (best === null || cost < bestCost || (cost === bestCost && preferred(anchor, best))) {
        best = anchor;
        bestCost = cost;
      }
    }
    return best;
  }
}

