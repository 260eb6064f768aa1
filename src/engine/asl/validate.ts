import aslValidator from 'asl-validator';
import { compileMachine } from './compile.js';
import { DefinitionError, type DefinitionProblem } from './errors.js';
import { looksLikeInvocation } from './intrinsic-parse.js';
import type { Machine } from './machine.js';

/**
 * Checks a definition with the asl-validator package (the JSON schema of the States language, path and
 * payload-template syntax) and with our own semantic checks (transitions, reachability, unique names,
 * Retry/Catch rules, operand types, resources we run, features we do not run). Every problem carries the
 * path of the field it is about.
 */
export function validateDefinition(definition: unknown): DefinitionProblem[] {
  const { problems } = compileMachine(definition);
  return [...problems, ...schemaProblems(definition, problems)];
}

/** Compiles a definition, or throws a DefinitionError listing every problem. */
export function compileDefinition(definition: unknown): Machine {
  const { machine, problems } = compileMachine(definition);
  const all = [...problems, ...schemaProblems(definition, problems)];
  if (all.length > 0) throw new DefinitionError(all);
  return machine;
}

/**
 * asl-validator's schema errors, as problems at our paths, leaving out those about a state (or field) we
 * already reported on: its oneOf alternatives (JSONPath/JSONata) make it report side effects of the same
 * mistake. Its other checks (transitions, names, terminal states, field combinations) are ours too, with
 * paths, so only its schema findings are kept.
 */
function schemaProblems(definition: unknown, ours: readonly DefinitionProblem[]): DefinitionProblem[] {
  if (typeof definition !== 'object' || definition === null) return [];
  let errors: AslErrors;
  try {
    errors = aslErrors(definition);
  } catch (error) {
    return ours.length > 0 ? [] : [{ path: '', message: `asl-validator could not check the definition: ${String(error)}` }];
  }
  const covered = ours.map((p) => stateOf(p.path));
  const out: DefinitionProblem[] = [];
  for (const e of errors) {
    if (e.schemaError === undefined) continue;
    if (e.Message.includes('asl_payload_template') && isInvocation(valueAt(definition, e.schemaError.instancePath))) continue;
    const path = e.schemaError.instancePath.split('/').filter((s) => s !== '').map((s, i, all) => (/^\d+$/.test(s) && i > 0 && !all[i - 1]!.endsWith('States') ? `[${s}]` : s)).reduce((acc, s) => (acc === '' ? s : s.startsWith('[') ? `${acc}${s}` : `${acc}.${s}`), '');
    // Type and QueryLanguage we check fully; asl-validator's JSONata alternative reports both on any mistake.
    if (/(^|\.)(Type|QueryLanguage)$/.test(path)) continue;
    const state = stateOf(path);
    if (covered.some((c) => c.startsWith(state) || state.startsWith(c))) continue;
    const message = e.Message.replace(/^\S* is invalid\. /, '').trim();
    if (!out.some((p) => p.path === path && p.message === message)) out.push({ path, message: `${message} (asl-validator)` });
  }
  return out;
}

type AslErrors = ReturnType<typeof aslValidator>['errors'];

/** asl-validator builds its JSON schema validator on every call (tens of milliseconds): remember answers. */
const remembered = new Map<string, AslErrors>();
const REMEMBER = 256;

function aslErrors(definition: object): AslErrors {
  const text = JSON.stringify(definition);
  let errors = remembered.get(text);
  if (errors === undefined) {
    // The validator writes QueryLanguage into the states it is given: it gets its own copy.
    errors = aslValidator(JSON.parse(text), { checkPaths: true, checkArn: false }).errors;
    if (remembered.size >= REMEMBER) remembered.delete(remembered.keys().next().value!);
    remembered.set(text, errors);
  }
  return errors;
}

/**
 * asl-path-validator's grammar for intrinsic functions is narrower than the one AWS documents (it refuses
 * decimal arguments, which MathAdd and MathRandom round, and escaped backslashes); our parser checks those.
 */
function isInvocation(value: unknown): boolean {
  return typeof value === 'string' && looksLikeInvocation(value);
}

function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The path of the state a problem path is in ("States.A.Retry[0]" -> "States.A"), or "" for the machine. */
function stateOf(path: string): string {
  const i = path.lastIndexOf('States.');
  if (i < 0) return '';
  const rest = path.slice(i + 'States.'.length);
  const end = rest.search(/[.[]/);
  return path.slice(0, i + 'States.'.length) + (end < 0 ? rest : rest.slice(0, end));
}
