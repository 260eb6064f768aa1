import { compileRule } from './choice.js';
import { States, type DefinitionProblem } from './errors.js';
import { deepFreeze, isInteger, isObject, toJson } from './json.js';
import type { Catcher, Graph, Machine, Retrier, State } from './machine.js';
import { IDENTITY, parsePath, type Path, type ReferencePath } from './paths.js';
import { compileDynamic, compileTemplate, type Template } from './template.js';
import { parseTimestamp } from './timestamp.js';

/**
 * The semantic checks and the compiler are one walk over the definition: every problem is recorded with
 * its path (`States.Check.Next`, `States.P.Branches[0].States.X.Retry[1].BackoffRate`) and compilation
 * carries on, so one pass reports everything. The machine is only used when there are no problems.
 */

/** AWS limits for numeric fields. */
const MAX_SECONDS = 99_999_999;
const MAX_DELAY_SECONDS_EXCLUSIVE = 31_622_401;
const MAX_STATE_NAME = 80;

const PREDEFINED_ERRORS = new Set<string>([
  ...Object.values(States),
  'States.ItemReaderFailed',
  'States.ResultWriterFailed',
  'States.QueryEvaluationError',
  'States.Http.Socket',
]);

const RESOURCE_FORMATS: readonly RegExp[] = [
  /^agent-mesh:\S+$/,
  /^mcp:[^\s/]+\/\S+$/,
  /^arn:aws(?:-[a-z]+)*:[^:\s]+:[^:\s]*:\d*:\S+$/,
];

const COMMON = ['Type', 'Comment', 'QueryLanguage'];
const FLOW = ['Next', 'End'];
const IO = ['InputPath', 'OutputPath'];
const EXECUTES = ['ResultSelector', 'ResultPath', 'Retry', 'Catch'];
const FIELDS: Record<State['type'], readonly string[]> = {
  Pass: [...COMMON, ...FLOW, ...IO, 'Parameters', 'Result', 'ResultPath'],
  Task: [...COMMON, ...FLOW, ...IO, ...EXECUTES, 'Resource', 'Parameters', 'TimeoutSeconds', 'TimeoutSecondsPath', 'HeartbeatSeconds', 'HeartbeatSecondsPath', 'Credentials'],
  Choice: [...COMMON, ...IO, 'Choices', 'Default'],
  Wait: [...COMMON, ...FLOW, ...IO, 'Seconds', 'Timestamp', 'SecondsPath', 'TimestampPath'],
  Succeed: [...COMMON, ...IO],
  Fail: [...COMMON, 'Error', 'Cause', 'ErrorPath', 'CausePath'],
  Parallel: [...COMMON, ...FLOW, ...IO, ...EXECUTES, 'Parameters', 'Branches'],
  Map: [
    ...COMMON, ...FLOW, ...IO, ...EXECUTES, 'ItemsPath', 'ItemSelector', 'Parameters', 'ItemProcessor', 'Iterator', 'MaxConcurrency',
    'MaxConcurrencyPath', 'ToleratedFailureCount', 'ToleratedFailureCountPath', 'ToleratedFailurePercentage', 'ToleratedFailurePercentagePath', 'Label',
  ],
};
/** Fields of the States language this interpreter does not run (JSONata, variables, Distributed Map I/O). */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  Assign: 'variables (Assign) are not supported',
  Arguments: 'Arguments belongs to JSONata, which is not supported',
  Output: 'Output belongs to JSONata, which is not supported',
  Items: 'Items belongs to JSONata, which is not supported; use ItemsPath',
  ItemReader: 'ItemReader (Distributed Map) is not supported',
  ResultWriter: 'ResultWriter (Distributed Map) is not supported',
  ItemBatcher: 'ItemBatcher (Distributed Map) is not supported',
};

/** Walks a definition: `problems` lists everything wrong; `machine` is only meaningful when there is nothing. */
export function compileMachine(definition: unknown): { machine: Machine; problems: DefinitionProblem[] } {
  const c = new Compiler();
  let timeoutSeconds: number | null = null;
  if (!isObject(definition)) {
    c.problem('', 'a state machine definition must be a JSON object');
  } else {
    c.graph(definition, '', 'machine');
    if ('TimeoutSeconds' in definition) {
      const t = definition.TimeoutSeconds;
      if (!isInteger(t) || t < 1 || t > MAX_SECONDS) c.problem('TimeoutSeconds', `must be a positive integer of at most ${MAX_SECONDS}, not ${toJson(t)}`);
      else timeoutSeconds = t;
    }
    if ('Version' in definition && typeof definition.Version !== 'string') c.problem('Version', 'must be a string');
  }
  return { machine: { graphs: c.graphs, timeoutSeconds }, problems: c.problems };
}

class Compiler {
  readonly problems: DefinitionProblem[] = [];
  readonly graphs: Graph[] = [];
  private readonly names = new Map<string, string>();

  problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** Compiles a States graph and returns its index. */
  graph(def: Record<string, unknown>, at: string, kind: 'machine' | 'branch' | 'processor'): number {
    const index = this.graphs.length;
    const states = new Map<string, State>();
    const graph: Graph = { startAt: typeof def.StartAt === 'string' ? def.StartAt : '', states, at };
    this.graphs.push(graph);
    const allowed = new Set(['StartAt', 'States', 'Comment', 'QueryLanguage', ...(kind === 'machine' ? ['Version', 'TimeoutSeconds'] : []), ...(kind === 'processor' ? ['ProcessorConfig'] : [])]);
    for (const k of Object.keys(def)) {
      if (!allowed.has(k)) this.problem(`${at}${k}`, UNSUPPORTED[k] ?? `unexpected field "${k}"`);
    }
    this.queryLanguage(def, at);
    if ('Comment' in def && typeof def.Comment !== 'string') this.problem(`${at}Comment`, 'must be a string');
    if (typeof def.StartAt !== 'string') this.problem(`${at}StartAt`, 'is required and must be a string');
    if (!isObject(def.States) || Object.keys(def.States).length === 0) {
      this.problem(`${at}States`, 'is required and must be an object with at least one state');
      return index;
    }
    for (const [name, value] of Object.entries(def.States)) {
      const where = `${at}States.${name}`;
      if (name.length > MAX_STATE_NAME) this.problem(where, `state names are at most ${MAX_STATE_NAME} characters long`);
      const first = this.names.get(name);
      if (first !== undefined) this.problem(where, `state name "${name}" is already used at ${first}; state names must be unique in the whole state machine`);
      else this.names.set(name, where);
      const state = this.state(name, value, where);
      if (state !== null) states.set(name, state);
    }
    if (typeof def.StartAt === 'string' && !Object.prototype.hasOwnProperty.call(def.States, def.StartAt)) {
      this.problem(`${at}StartAt`, `state "${def.StartAt}" does not exist`);
    }
    this.transitions(def.States, at, states, graph.startAt);
    return index;
  }

  private queryLanguage(def: Record<string, unknown>, at: string): void {
    if ('QueryLanguage' in def && def.QueryLanguage !== 'JSONPath') {
      this.problem(`${at}QueryLanguage`, def.QueryLanguage === 'JSONata' ? 'JSONata is not supported; only JSONPath is' : 'must be "JSONPath"');
    }
  }

  /** Every transition target exists in the same graph, every state is reachable, and some state ends. */
  private transitions(defs: Record<string, unknown>, at: string, states: Map<string, State>, startAt: string): void {
    const exists = (name: string): boolean => Object.prototype.hasOwnProperty.call(defs, name);
    const edges = new Map<string, string[]>();
    let terminal = false;
    for (const [name, state] of states) {
      const where = `${at}States.${name}`;
      const targets: [string, string][] = [];
      if (state.next !== null) targets.push([state.next, `${where}.Next`]);
      else if (state.type !== 'Choice') terminal = true;
      if (state.type === 'Choice') {
        state.choices.forEach((c, i) => targets.push([c.next, `${where}.Choices[${i}].Next`]));
        if (state.default !== null) targets.push([state.default, `${where}.Default`]);
      }
      if (state.type === 'Task' || state.type === 'Parallel' || state.type === 'Map') {
        state.catch.forEach((c, i) => targets.push([c.next, `${where}.Catch[${i}].Next`]));
      }
      for (const [target, path] of targets) {
        if (!exists(target)) this.problem(path, `state "${target}" does not exist`);
      }
      edges.set(name, targets.map(([t]) => t));
    }
    if (states.size === Object.keys(defs).length) {
      if (!terminal) this.problem(`${at}States`, 'no state ends the execution (one needs "End": true, or must be a Succeed or Fail state)');
      const seen = new Set<string>();
      const stack = exists(startAt) ? [startAt] : [];
      while (stack.length > 0) {
        const name = stack.pop()!;
        if (seen.has(name)) continue;
        seen.add(name);
        for (const t of edges.get(name) ?? []) if (exists(t)) stack.push(t);
      }
      for (const name of states.keys()) {
        if (!seen.has(name) && exists(startAt)) this.problem(`${at}States.${name}`, `state "${name}" is not reachable from StartAt`);
      }
    }
  }

  private state(name: string, def: unknown, at: string): State | null {
    if (!isObject(def)) {
      this.problem(at, 'a state must be an object');
      return null;
    }
    const type = def.Type;
    if (typeof type !== 'string' || !(type in FIELDS)) {
      this.problem(`${at}.Type`, `must be one of ${Object.keys(FIELDS).join(', ')}, not ${toJson(type)}`);
      return null;
    }
    const t = type as State['type'];
    const allowed = new Set(FIELDS[t]);
    for (const k of Object.keys(def)) {
      if (!allowed.has(k)) this.problem(`${at}.${k}`, UNSUPPORTED[k] ?? `unexpected field "${k}" in a ${t} state`);
    }
    this.queryLanguage(def, `${at}.`);
    if ('Comment' in def && typeof def.Comment !== 'string') this.problem(`${at}.Comment`, 'must be a string');
    const base = {
      name,
      next: t === 'Choice' || t === 'Succeed' || t === 'Fail' ? null : this.flow(def, at),
      inputPath: this.ioPath(def, 'InputPath', at),
      outputPath: this.ioPath(def, 'OutputPath', at),
    };
    switch (t) {
      case 'Pass':
        return {
          ...base,
          type: t,
          parameters: this.template(def, 'Parameters', at),
          result: 'Result' in def ? { value: deepFreeze(def.Result) } : null,
          resultPath: this.resultPath(def.ResultPath, 'ResultPath' in def, `${at}.ResultPath`),
        };
      case 'Task':
        return this.task(def, at, base);
      case 'Choice':
        return this.choice(def, at, base);
      case 'Wait':
        return this.wait(def, at, base);
      case 'Succeed':
        return { ...base, type: t };
      case 'Fail':
        return this.fail(def, at, base);
      case 'Parallel': {
        const branches: number[] = [];
        if (!Array.isArray(def.Branches) || def.Branches.length === 0) {
          this.problem(`${at}.Branches`, 'is required and must be a non-empty array of state machines');
        } else {
          def.Branches.forEach((b, i) => {
            if (isObject(b)) branches.push(this.graph(b, `${at}.Branches[${i}].`, 'branch'));
            else this.problem(`${at}.Branches[${i}]`, 'a branch must be an object with StartAt and States');
          });
        }
        return { ...base, ...this.executes(def, at), type: t, branches, parameters: this.template(def, 'Parameters', at) };
      }
      case 'Map':
        return this.map(def, at, base);
    }
  }

  private flow(def: Record<string, unknown>, at: string): string | null {
    const hasNext = 'Next' in def;
    const end = def.End;
    if ('End' in def && typeof end !== 'boolean') this.problem(`${at}.End`, 'must be a boolean');
    if (hasNext && typeof def.Next !== 'string') this.problem(`${at}.Next`, 'must be a state name (a string)');
    if (hasNext && end === true) this.problem(at, 'a state cannot have both "Next" and "End": true');
    if (!hasNext && end !== true) this.problem(at, 'a state needs either "Next" or "End": true');
    return hasNext && typeof def.Next === 'string' && end !== true ? def.Next : null;
  }

  private ioPath(def: Record<string, unknown>, field: 'InputPath' | 'OutputPath', at: string): Path | null {
    if (!(field in def)) return IDENTITY;
    const value = def[field];
    if (value === null) return null;
    return this.path(value, `${at}.${field}`, {}) ?? IDENTITY;
  }

  private path(value: unknown, at: string, options: { context?: boolean; reference?: boolean }): Path | null {
    const path = parsePath(value, options);
    if (typeof path === 'string') {
      this.problem(at, path);
      return null;
    }
    return path;
  }

  private referencePath(def: Record<string, unknown>, field: string, at: string, context = false): ReferencePath | null {
    if (!(field in def)) return null;
    return this.path(def[field], `${at}.${field}`, { reference: true, context }) as ReferencePath | null;
  }

  private resultPath(value: unknown, present: boolean, at: string): ReferencePath | null {
    if (!present) return IDENTITY;
    if (value === null) return null;
    return (this.path(value, at, { reference: true }) as ReferencePath | null) ?? IDENTITY;
  }

  private template(def: Record<string, unknown>, field: string, at: string): Template | null {
    if (!(field in def)) return null;
    const value = def[field];
    if (!isObject(value)) this.problem(`${at}.${field}`, 'must be a JSON object');
    return compileTemplate(value, `${at}.${field}`, this.problems);
  }

  private executes(def: Record<string, unknown>, at: string): { resultSelector: Template | null; resultPath: ReferencePath | null; retry: Retrier[]; catch: Catcher[] } {
    return {
      resultSelector: this.template(def, 'ResultSelector', at),
      resultPath: this.resultPath(def.ResultPath, 'ResultPath' in def, `${at}.ResultPath`),
      retry: this.retriers(def.Retry, 'Retry' in def, `${at}.Retry`),
      catch: this.catchers(def.Catch, 'Catch' in def, `${at}.Catch`),
    };
  }

  private errorEquals(value: unknown, at: string, last: boolean): string[] {
    if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
      this.problem(at, 'must be a non-empty array of error names');
      return [];
    }
    const names = value as string[];
    names.forEach((n, i) => {
      if (n.startsWith('States.') && !PREDEFINED_ERRORS.has(n)) this.problem(`${at}[${i}]`, `"${n}" is not a predefined error name (names starting with "States." are reserved)`);
    });
    if (names.includes(States.ALL)) {
      if (names.length > 1) this.problem(at, 'States.ALL must appear alone in ErrorEquals');
      if (!last) this.problem(at, 'States.ALL must be in the last retrier or catcher');
    }
    return names;
  }

  private retriers(value: unknown, present: boolean, at: string): Retrier[] {
    if (!present) return [];
    if (!Array.isArray(value)) {
      this.problem(at, 'must be an array of retriers');
      return [];
    }
    return value.flatMap((r, i): Retrier[] => {
      const where = `${at}[${i}]`;
      if (!isObject(r)) {
        this.problem(where, 'a retrier must be an object');
        return [];
      }
      for (const k of Object.keys(r)) {
        if (!['ErrorEquals', 'IntervalSeconds', 'MaxAttempts', 'BackoffRate', 'MaxDelaySeconds', 'JitterStrategy', 'Comment'].includes(k)) this.problem(`${where}.${k}`, `unexpected field "${k}" in a retrier`);
      }
      const errors = this.errorEquals(r.ErrorEquals, `${where}.ErrorEquals`, i === value.length - 1);
      const int = (field: string, fallback: number, min: number, max: number): number => {
        if (!(field in r)) return fallback;
        const v = r[field];
        if (!isInteger(v) || v < min || v > max) {
          this.problem(`${where}.${field}`, `must be an integer from ${min} to ${max}, not ${toJson(v)}`);
          return fallback;
        }
        return v;
      };
      const intervalSeconds = int('IntervalSeconds', 1, 1, MAX_SECONDS);
      const maxAttempts = int('MaxAttempts', 3, 0, MAX_SECONDS);
      const maxDelaySeconds = 'MaxDelaySeconds' in r ? int('MaxDelaySeconds', 0, 1, MAX_DELAY_SECONDS_EXCLUSIVE - 1) : null;
      let backoffRate = 2;
      if ('BackoffRate' in r) {
        const b = r.BackoffRate;
        if (typeof b !== 'number' || b < 1) this.problem(`${where}.BackoffRate`, `must be a number greater than or equal to 1.0, not ${toJson(b)}`);
        else backoffRate = b;
      }
      let fullJitter = false;
      if ('JitterStrategy' in r) {
        if (r.JitterStrategy !== 'FULL' && r.JitterStrategy !== 'NONE') this.problem(`${where}.JitterStrategy`, `must be "FULL" or "NONE", not ${toJson(r.JitterStrategy)}`);
        fullJitter = r.JitterStrategy === 'FULL';
      }
      return [{ errors, intervalSeconds, maxAttempts, backoffRate, maxDelaySeconds, fullJitter }];
    });
  }

  private catchers(value: unknown, present: boolean, at: string): Catcher[] {
    if (!present) return [];
    if (!Array.isArray(value)) {
      this.problem(at, 'must be an array of catchers');
      return [];
    }
    return value.flatMap((c, i): Catcher[] => {
      const where = `${at}[${i}]`;
      if (!isObject(c)) {
        this.problem(where, 'a catcher must be an object');
        return [];
      }
      for (const k of Object.keys(c)) {
        if (!['ErrorEquals', 'Next', 'ResultPath', 'Comment'].includes(k)) this.problem(`${where}.${k}`, UNSUPPORTED[k] ?? `unexpected field "${k}" in a catcher`);
      }
      const errors = this.errorEquals(c.ErrorEquals, `${where}.ErrorEquals`, i === value.length - 1);
      if (typeof c.Next !== 'string') {
        this.problem(`${where}.Next`, 'is required and must be a state name');
        return [];
      }
      return [{ errors, next: c.Next, resultPath: this.resultPath(c.ResultPath, 'ResultPath' in c, `${where}.ResultPath`) }];
    });
  }

  private seconds(def: Record<string, unknown>, field: string, at: string, min: number): number | null {
    if (!(field in def)) return null;
    const v = def[field];
    if (!isInteger(v) || v < min || v > MAX_SECONDS) {
      this.problem(`${at}.${field}`, `must be an integer from ${min} to ${MAX_SECONDS}, not ${toJson(v)}`);
      return null;
    }
    return v;
  }

  private atMostOne(def: Record<string, unknown>, fields: readonly string[], at: string): void {
    const present = fields.filter((f) => f in def);
    if (present.length > 1) this.problem(at, `only one of ${present.join(' and ')} may be given`);
  }

  private task(def: Record<string, unknown>, at: string, base: Base): State {
    const resource = def.Resource;
    if (typeof resource !== 'string') this.problem(`${at}.Resource`, 'is required and must be a string');
    else if (!RESOURCE_FORMATS.some((re) => re.test(resource))) {
      this.problem(`${at}.Resource`, `"${resource}" is not a supported resource (agent-mesh:<tool>, mcp:<integration>/<tool> or an AWS ARN)`);
    }
    this.atMostOne(def, ['TimeoutSeconds', 'TimeoutSecondsPath'], at);
    this.atMostOne(def, ['HeartbeatSeconds', 'HeartbeatSecondsPath'], at);
    const timeoutSeconds = this.seconds(def, 'TimeoutSeconds', at, 1);
    const heartbeatSeconds = this.seconds(def, 'HeartbeatSeconds', at, 1);
    if (timeoutSeconds !== null && heartbeatSeconds !== null && heartbeatSeconds >= timeoutSeconds) {
      this.problem(`${at}.HeartbeatSeconds`, `must be smaller than TimeoutSeconds (${timeoutSeconds})`);
    }
    return {
      ...base,
      ...this.executes(def, at),
      type: 'Task',
      resource: typeof resource === 'string' ? resource : '',
      parameters: this.template(def, 'Parameters', at),
      timeoutSeconds,
      timeoutSecondsPath: this.referencePath(def, 'TimeoutSecondsPath', at),
      heartbeatSeconds,
      heartbeatSecondsPath: this.referencePath(def, 'HeartbeatSecondsPath', at),
    };
  }

  private choice(def: Record<string, unknown>, at: string, base: Base): State {
    const choices: { rule: NonNullable<ReturnType<typeof compileRule>>; next: string }[] = [];
    if (!Array.isArray(def.Choices) || def.Choices.length === 0) {
      this.problem(`${at}.Choices`, 'is required and must be a non-empty array of choice rules');
    } else {
      def.Choices.forEach((c, i) => {
        const where = `${at}.Choices[${i}]`;
        const rule = compileRule(c, where, true, this.problems);
        const next = isObject(c) ? c.Next : undefined;
        if (typeof next !== 'string') this.problem(`${where}.Next`, 'is required and must be a state name');
        else if (rule !== null) choices.push({ rule, next });
      });
    }
    if ('Default' in def && typeof def.Default !== 'string') this.problem(`${at}.Default`, 'must be a state name');
    return { ...base, type: 'Choice', choices, default: typeof def.Default === 'string' ? def.Default : null };
  }

  private wait(def: Record<string, unknown>, at: string, base: Base): State {
    const fields = ['Seconds', 'Timestamp', 'SecondsPath', 'TimestampPath'].filter((f) => f in def);
    if (fields.length !== 1) this.problem(at, `a Wait state needs exactly one of Seconds, Timestamp, SecondsPath and TimestampPath${fields.length > 1 ? `, not ${fields.join(' and ')}` : ''}`);
    let timestamp: number | null = null;
    if ('Timestamp' in def) {
      const instant = parseTimestamp(def.Timestamp);
      if (instant === null) this.problem(`${at}.Timestamp`, `must be a timestamp like "2016-03-14T01:59:00Z", not ${toJson(def.Timestamp)}`);
      else timestamp = instant.seconds * 1000;
    }
    return {
      ...base,
      type: 'Wait',
      seconds: this.seconds(def, 'Seconds', at, 0),
      timestamp,
      secondsPath: this.referencePath(def, 'SecondsPath', at),
      timestampPath: this.referencePath(def, 'TimestampPath', at),
    };
  }

  private fail(def: Record<string, unknown>, at: string, base: Base): State {
    this.atMostOne(def, ['Error', 'ErrorPath'], at);
    this.atMostOne(def, ['Cause', 'CausePath'], at);
    const text = (field: string): string | null => {
      if (!(field in def)) return null;
      if (typeof def[field] !== 'string') this.problem(`${at}.${field}`, 'must be a string');
      return typeof def[field] === 'string' ? def[field] : null;
    };
    const dynamic = (field: string) => (field in def ? compileDynamic(def[field], `${at}.${field}`, this.problems) : null);
    return { ...base, type: 'Fail', error: text('Error'), cause: text('Cause'), errorPath: dynamic('ErrorPath'), causePath: dynamic('CausePath') };
  }

  private map(def: Record<string, unknown>, at: string, base: Base): State {
    let processor = -1;
    if (('ItemProcessor' in def) === ('Iterator' in def)) {
      this.problem(at, 'a Map state needs exactly one of ItemProcessor and Iterator');
    } else {
      const field = 'ItemProcessor' in def ? 'ItemProcessor' : 'Iterator';
      const value = def[field];
      if (!isObject(value)) this.problem(`${at}.${field}`, 'must be an object with StartAt and States');
      else {
        if (field === 'ItemProcessor' && 'ProcessorConfig' in value) this.processorConfig(value.ProcessorConfig, `${at}.ItemProcessor.ProcessorConfig`);
        processor = this.graph(value, `${at}.${field}.`, field === 'ItemProcessor' ? 'processor' : 'branch');
      }
    }
    this.atMostOne(def, ['ItemSelector', 'Parameters'], at);
    this.atMostOne(def, ['MaxConcurrency', 'MaxConcurrencyPath'], at);
    this.atMostOne(def, ['ToleratedFailureCount', 'ToleratedFailureCountPath'], at);
    this.atMostOne(def, ['ToleratedFailurePercentage', 'ToleratedFailurePercentagePath'], at);
    let toleratedFailurePercentage: number | null = null;
    if ('ToleratedFailurePercentage' in def) {
      const p = def.ToleratedFailurePercentage;
      if (typeof p !== 'number' || p < 0 || p > 100) this.problem(`${at}.ToleratedFailurePercentage`, `must be a number from 0 to 100, not ${toJson(p)}`);
      else toleratedFailurePercentage = p;
    }
    let toleratedFailureCount: number | null = null;
    if ('ToleratedFailureCount' in def) {
      const n = def.ToleratedFailureCount;
      if (!isInteger(n) || n < 0) this.problem(`${at}.ToleratedFailureCount`, `must be a non-negative integer, not ${toJson(n)}`);
      else toleratedFailureCount = n;
    }
    let maxConcurrency = 0;
    if ('MaxConcurrency' in def) {
      const n = def.MaxConcurrency;
      if (!isInteger(n) || n < 0) this.problem(`${at}.MaxConcurrency`, `must be a non-negative integer, not ${toJson(n)}`);
      else maxConcurrency = n;
    }
    const selectorField = 'ItemSelector' in def ? 'ItemSelector' : 'Parameters';
    return {
      ...base,
      ...this.executes(def, at),
      type: 'Map',
      processor,
      itemsPath: ('ItemsPath' in def ? this.referencePath(def, 'ItemsPath', at, true) : IDENTITY) ?? IDENTITY,
      itemSelector: this.template(def, selectorField, at),
      maxConcurrency,
      maxConcurrencyPath: this.referencePath(def, 'MaxConcurrencyPath', at),
      toleratedFailureCount,
      toleratedFailureCountPath: this.referencePath(def, 'ToleratedFailureCountPath', at),
      toleratedFailurePercentage,
      toleratedFailurePercentagePath: this.referencePath(def, 'ToleratedFailurePercentagePath', at),
    };
  }

  private processorConfig(value: unknown, at: string): void {
    if (!isObject(value)) {
      this.problem(at, 'must be an object');
      return;
    }
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Mode') {
        if (v !== 'INLINE' && v !== 'DISTRIBUTED') this.problem(`${at}.Mode`, 'must be "INLINE" or "DISTRIBUTED"');
      } else if (k === 'ExecutionType') {
        if (v !== 'STANDARD' && v !== 'EXPRESS') this.problem(`${at}.ExecutionType`, 'must be "STANDARD" or "EXPRESS"');
      } else this.problem(`${at}.${k}`, `unexpected field "${k}"`);
    }
  }
}

interface Base {
  readonly name: string;
  readonly next: string | null;
  readonly inputPath: Path | null;
  readonly outputPath: Path | null;
}
