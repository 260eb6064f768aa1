import { CompiledEventPattern, type Anchor, type CompiledPattern } from './compile.js';
import { PathTree, eventRoot, flatten } from './flatten.js';
import type { Scalar } from './values.js';

const PATH_PREFERENCE = new Map([
  ['source', 0],
  ['detail-type', 1],
]);

function preferred(a: Anchor, b: Anchor): boolean {
  if (a.values.length !== b.values.length) return a.values.length < b.values.length;
  return (PATH_PREFERENCE.get(a.path) ?? 2) < (PATH_PREFERENCE.get(b.path) ?? 2);
}

interface Entry<T> {
  readonly id: string;
  readonly pattern: CompiledPattern;
  /** The pattern when it is one of ours (it can use the shared flattened event and be indexed). */
  readonly compiled: CompiledEventPattern | null;
  readonly value: T;
  readonly seq: number;
  readonly anchor: Anchor | null;
  /** The match() call that last looked at this entry, so a rule is evaluated at most once per event. */
  stamp: number;
}

/**
 * Many rules, one event: finds every rule whose pattern matches.
 *
 * Each rule is filed under one "anchor" field whose match values are all exact scalars in every `$or`
 * alternative (for example `source`); an event then only evaluates the rules filed under the values it
 * actually has at those paths, plus the (usually few) rules without such a field. The event is flattened
 * once per call, walking only the parts some rule reads.
 */
export class PatternIndex<T> {
  private readonly entries = new Map<string, Entry<T>>();
  /** anchor path -> exact value -> rules filed there */
  private readonly anchored = new Map<string, Map<Scalar, Set<Entry<T>>>>();
  /** rules with no anchor field, evaluated for every event */
  private readonly scan = new Set<Entry<T>>();
  /** the paths all rules read: the parts of an event worth flattening */
  private readonly wanted = new PathTree();
  private seq = 0;
  private stamp = 0;

  /** Adds a rule, replacing any rule with the same id. */
  add(id: string, pattern: CompiledPattern, value: T): void {
    this.remove(id);
    const compiled = pattern instanceof CompiledEventPattern ? pattern : null;
    const anchor = compiled === null ? null : this.chooseAnchor(compiled.anchors);
    const entry: Entry<T> = { id, pattern, compiled, value, seq: this.seq++, anchor, stamp: 0 };
    this.entries.set(id, entry);
    if (compiled !== null) for (const p of compiled.paths) this.wanted.add(p);
    if (anchor === null) {
      this.scan.add(entry);
      return;
    }
    let buckets = this.anchored.get(anchor.path);
    if (buckets === undefined) {
      buckets = new Map();
      this.anchored.set(anchor.path, buckets);
    }
    for (const v of anchor.values) {
      let bucket = buckets.get(v);
      if (bucket === undefined) {
        bucket = new Set();
        buckets.set(v, bucket);
      }
      bucket.add(entry);
    }
  }

  /** Removes a rule; false when there was none with that id. */
  remove(id: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    this.entries.delete(id);
    if (entry.compiled !== null) for (const p of entry.compiled.paths) this.wanted.remove(p);
    if (entry.anchor === null) {
      this.scan.delete(entry);
      return true;
    }
    const buckets = this.anchored.get(entry.anchor.path);
    if (buckets !== undefined) {
      for (const v of entry.anchor.values) {
        const bucket = buckets.get(v);
        if (bucket === undefined) continue;
        bucket.delete(entry);
        if (bucket.size === 0) buckets.delete(v);
      }
      if (buckets.size === 0) this.anchored.delete(entry.anchor.path);
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
    if (root !== null) {
      const flat = flatten(root, this.wanted);
      const visit = (path: string, buckets: Map<Scalar, Set<Entry<T>>>): void => {
        const slot = flat.slots.get(path);
        if (slot === undefined) return;
        for (const v of slot.values) {
          const bucket = buckets.get(v);
          if (bucket === undefined) continue;
          for (const entry of bucket) {
            if (entry.stamp === stamp) continue;
            entry.stamp = stamp;
            if (entry.compiled!.matchesFlat(flat)) found.push(entry);
          }
        }
      };
      if (this.anchored.size <= flat.slots.size) {
        for (const [path, buckets] of this.anchored) visit(path, buckets);
      } else {
        for (const path of flat.slots.keys()) {
          const buckets = this.anchored.get(path);
          if (buckets !== undefined) visit(path, buckets);
        }
      }
      for (const entry of this.scan) {
        if (entry.compiled === null ? entry.pattern.matches(event) : entry.compiled.matchesFlat(flat)) found.push(entry);
      }
    } else {
      for (const entry of this.scan) if (entry.compiled === null && entry.pattern.matches(event)) found.push(entry);
    }
    if (found.length > 1) found.sort((a, b) => a.seq - b.seq);
    return found.map((e) => e.value);
  }

  /**
   * The anchor whose values currently hold the fewest rules; ties go to fewer values, then to the field
   * that usually tells rules apart best (source, then detail-type, then any other).
   */
  private chooseAnchor(anchors: readonly Anchor[]): Anchor | null {
    let best: Anchor | null = null;
    let bestCost = Infinity;
    for (const anchor of anchors) {
      const buckets = this.anchored.get(anchor.path);
      let cost = 0;
      if (buckets !== undefined) for (const v of anchor.values) cost += buckets.get(v)?.size ?? 0;
      if (best === null || cost < bestCost || (cost === bestCost && preferred(anchor, best))) {
        best = anchor;
        bestCost = cost;
      }
    }
    return best;
  }
}
