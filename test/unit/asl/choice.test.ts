import { describe, expect, it } from 'vitest';
import { compileDefinition, startExecution, step, type HostHooks, type Machine, type Snapshot } from '../../../src/engine/asl/index.js';
import { failure, runExecution, T0 } from './driver.js';

/**
 * One machine per rule, compiled once, run on many inputs (validation through asl-validator is the slow
 * part, so the rule tables below reuse machines).
 */
const cache = new Map<string, Machine>();
function machineFor(rule: Record<string, unknown>, withDefault = true): Machine {
  const key = JSON.stringify([rule, withDefault]);
  let m = cache.get(key);
  if (m === undefined) {
    m = compileDefinition({
      StartAt: 'C',
      States: {
        C: { Type: 'Choice', Choices: [{ ...rule, Next: 'Yes' }], ...(withDefault ? { Default: 'No' } : {}) },
        Yes: { Type: 'Pass', Result: 'yes', End: true },
        ...(withDefault ? { No: { Type: 'Pass', Result: 'no', End: true } } : {}),
      },
    });
    cache.set(key, m);
  }
  return m;
}

const hooks: HostHooks = { now: T0, random: () => 0.5, uuid: () => 'u' };

function run(machine: Machine, input: unknown): Snapshot {
  let s = startExecution(machine, input, { executionId: 'e', executionName: 'e', stateMachineId: 'm', stateMachineName: 'm', now: T0 }).snapshot;
  for (let r = step(machine, s, hooks); r !== null; r = step(machine, s, hooks)) s = r.snapshot;
  return s;
}

function matches(rule: Record<string, unknown>, input: unknown): boolean {
  const s = run(machineFor(rule), input);
  if (s.status !== 'SUCCEEDED') throw new Error(`${s.error}: ${s.cause}`);
  return s.output === 'yes';
}

type Case = [operator: string, operand: unknown, value: unknown, expected: boolean];

const CASES: Case[] = [
  ['StringEquals', 'abc', 'abc', true],
  ['StringEquals', 'abc', 'abd', false],
  ['StringEquals', '1', 1, false],
  ['StringLessThan', 'b', 'a', true],
  ['StringLessThan', 'b', 'b', false],
  ['StringLessThan', 'b', 'c', false],
  ['StringGreaterThan', 'b', 'c', true],
  ['StringGreaterThan', 'b', 'b', false],
  ['StringLessThanEquals', 'b', 'b', true],
  ['StringLessThanEquals', 'b', 'c', false],
  ['StringGreaterThanEquals', 'b', 'b', true],
  ['StringGreaterThanEquals', 'b', 'a', false],
  ['StringGreaterThan', 'B', 'a', true], // code-unit order: lowercase after uppercase
  ['StringMatches', 'foo*.log', 'foo23.log', true],
  ['StringMatches', '*.log', 'zebra.log', true],
  ['StringMatches', 'foo*.*', 'foobar.zebra', true],
  ['StringMatches', 'foo*.log', 'foo.txt', false],
  ['StringMatches', 'a\\*b', 'a*b', true],
  ['StringMatches', 'a\\*b', 'axxb', false],
  ['StringMatches', 'a\\\\b', 'a\\b', true],
  ['StringMatches', 'a.c', 'abc', false],
  ['StringMatches', '*', 3, false],
  ['NumericEquals', 5, 5, true],
  ['NumericEquals', 5, 5.0, true],
  ['NumericEquals', 5, '5', false],
  ['NumericEquals', 1, true, false],
  ['NumericLessThan', 5, 4.9, true],
  ['NumericLessThan', 5, 5, false],
  ['NumericGreaterThan', 5, 6, true],
  ['NumericGreaterThan', 5, 5, false],
  ['NumericLessThanEquals', 5, 5, true],
  ['NumericLessThanEquals', 5, 6, false],
  ['NumericGreaterThanEquals', 5, 5, true],
  ['NumericGreaterThanEquals', -1, -2, false],
  ['BooleanEquals', true, true, true],
  ['BooleanEquals', true, false, false],
  ['BooleanEquals', true, 'true', false],
  ['TimestampEquals', '2016-03-14T01:59:00Z', '2016-03-14T01:59:00Z', true],
  ['TimestampEquals', '2016-03-14T01:59:00Z', '2016-03-14T02:59:00+01:00', true],
  ['TimestampEquals', '2016-03-14T01:59:00Z', '2016-03-14T01:59:00.000Z', true],
  ['TimestampEquals', '2016-03-14T01:59:00Z', '2016-03-14t01:59:00z', false],
  ['TimestampEquals', '2016-03-14T01:59:00Z', 'not a time', false],
  ['TimestampLessThan', '2016-03-14T01:59:00Z', '2016-03-14T01:58:59.999Z', true],
  ['TimestampLessThan', '2016-03-14T01:59:00Z', '2016-03-14T01:59:00Z', false],
  ['TimestampGreaterThan', '2016-03-14T01:59:00Z', '2017-01-01T00:00:00Z', true],
  ['TimestampGreaterThan', '2016-03-14T01:59:00Z', '2016-03-14T01:59:00Z', false],
  ['TimestampLessThanEquals', '2016-03-14T01:59:00Z', '2016-03-14T01:59:00Z', true],
  ['TimestampLessThanEquals', '2016-03-14T01:59:00Z', '2016-03-14T01:59:01Z', false],
  ['TimestampGreaterThanEquals', '2016-03-14T01:59:00Z', '2016-03-14T01:59:00Z', true],
  ['TimestampGreaterThanEquals', '2016-03-14T01:59:00Z', '2016-03-14T01:58:00Z', false],
  ['IsNull', true, null, true],
  ['IsNull', true, 0, false],
  ['IsNull', false, 'x', true],
  ['IsNumeric', true, 1.5, true],
  ['IsNumeric', true, '1', false],
  ['IsString', true, '', true],
  ['IsString', true, null, false],
  ['IsBoolean', true, false, true],
  ['IsBoolean', true, 0, false],
  ['IsTimestamp', true, '2016-03-14T01:59:00Z', true],
  ['IsTimestamp', true, '2016-02-30T01:59:00Z', false],
  ['IsTimestamp', true, '2016-03-14 01:59:00Z', false],
  ['IsTimestamp', false, 17, true],
  ['IsPresent', true, 'anything', true],
  ['IsPresent', false, 'anything', false],
];

describe('Choice comparison operators', () => {
  it.each(CASES)('%s %j against %j is %s', (operator, operand, value, expected) => {
    expect(matches({ Variable: '$.v', [operator]: operand }, { v: value })).toBe(expected);
  });

  const pathCases = CASES.filter(([op]) => /^(String|Numeric|Boolean|Timestamp)(Equals|LessThan|GreaterThan|LessThanEquals|GreaterThanEquals)$/.test(op));
  it.each(pathCases)('%sPath with the operand %j read from the input, against %j, is %s', (operator, operand, value, expected) => {
    expect(matches({ Variable: '$.v', [`${operator}Path`]: '$.other' }, { v: value, other: operand })).toBe(expected);
  });

  it('IsPresent tests whether the path selects anything', () => {
    expect(matches({ Variable: '$.missing', IsPresent: false }, { v: 1 })).toBe(true);
    expect(matches({ Variable: '$.missing', IsPresent: true }, { v: 1 })).toBe(false);
    expect(matches({ Variable: '$.v', IsPresent: true }, { v: null })).toBe(true);
  });

  it('a Variable that selects nothing is a States.Runtime error', () => {
    const s = run(machineFor({ Variable: '$.missing', StringEquals: 'x' }), { v: 1 });
    expect(s.status).toBe('FAILED');
    expect(s.error).toBe('States.Runtime');
    expect(s.cause).toBe("Invalid path '$.missing': The choice state's condition path references an invalid value.");
    const t = run(machineFor({ Variable: '$.v', NumericEqualsPath: '$.missing' }), { v: 1 });
    expect([t.error, t.cause]).toEqual(['States.Runtime', "Invalid path '$.missing': The choice state's condition path references an invalid value."]);
  });

  it('a ...Path operand of the wrong type does not match', () => {
    expect(matches({ Variable: '$.v', NumericGreaterThanPath: '$.w' }, { v: 3, w: '2' })).toBe(false);
  });

  it('And, Or and Not combine rules; And stops at the first false rule', () => {
    const inTwenties = { And: [{ Variable: '$.value', IsPresent: true }, { Variable: '$.value', IsNumeric: true }, { Variable: '$.value', NumericGreaterThanEquals: 20 }, { Variable: '$.value', NumericLessThan: 30 }] };
    expect(matches(inTwenties, { value: 25 })).toBe(true);
    expect(matches(inTwenties, { value: 30 })).toBe(false);
    expect(matches(inTwenties, { value: 'x' })).toBe(false);
    expect(matches(inTwenties, {})).toBe(false);
    expect(matches({ Not: { Variable: '$.type', StringEquals: 'Private' } }, { type: 'Public' })).toBe(true);
    expect(matches({ Not: { Variable: '$.type', StringEquals: 'Private' } }, { type: 'Private' })).toBe(false);
    const either = { Or: [{ Variable: '$.a', BooleanEquals: true }, { Variable: '$.b', BooleanEquals: true }] };
    expect(matches(either, { a: false, b: true })).toBe(true);
    expect(matches(either, { a: true })).toBe(true);
    expect(matches(either, { a: false, b: false })).toBe(false);
  });

  it('Variable may read the context object', () => {
    expect(matches({ Variable: '$$.Execution.Name', StringEquals: 'e' }, {})).toBe(true);
  });

  it('without a match and without Default the state fails with States.NoChoiceMatched', () => {
    const s = run(machineFor({ Variable: '$.v', NumericEquals: 1 }, false), { v: 2 });
    expect(s.status).toBe('FAILED');
    expect(s.error).toBe('States.NoChoiceMatched');
  });

  it('the spec example routes to the first matching rule, else to Default', () => {
    const definition = {
      StartAt: 'ChoiceStateX',
      States: {
        ChoiceStateX: {
          Type: 'Choice',
          Choices: [
            { Not: { Variable: '$.type', StringEquals: 'Private' }, Next: 'Public' },
            {
              And: [{ Variable: '$.value', IsPresent: true }, { Variable: '$.value', IsNumeric: true }, { Variable: '$.value', NumericGreaterThanEquals: 20 }, { Variable: '$.value', NumericLessThan: 30 }],
              Next: 'ValueInTwenties',
            },
            { Variable: '$.rating', NumericGreaterThanPath: '$.auditThreshold', Next: 'StartAudit' },
          ],
          Default: 'RecordEvent',
        },
        Public: { Type: 'Pass', Result: 'Public', End: true },
        ValueInTwenties: { Type: 'Pass', Result: 'ValueInTwenties', End: true },
        StartAudit: { Type: 'Pass', Result: 'StartAudit', End: true },
        RecordEvent: { Type: 'Pass', Result: 'RecordEvent', End: true },
      },
    };
    const route = (input: unknown) => runExecution(definition, input).snapshot.output;
    expect(route({ type: 'Public' })).toBe('Public');
    expect(route({ type: 'Private', value: 22 })).toBe('ValueInTwenties');
    expect(route({ type: 'Private', value: 35, rating: 60, auditThreshold: 53 })).toBe('StartAudit');
    expect(route({ type: 'Private', value: 35, rating: 50, auditThreshold: 53 })).toBe('RecordEvent');
  });

  it('applies InputPath before the rules and OutputPath to the output', () => {
    const r = runExecution(
      {
        StartAt: 'C',
        States: {
          C: { Type: 'Choice', InputPath: '$.inner', OutputPath: '$.keep', Choices: [{ Variable: '$.flag', BooleanEquals: true, Next: 'End' }], Default: 'End' },
          End: { Type: 'Succeed' },
        },
      },
      { inner: { flag: true, keep: { k: 1 } } },
    );
    expect(r.snapshot.output).toEqual({ k: 1 });
    expect(failure(r).status).toBe('SUCCEEDED');
  });
});
