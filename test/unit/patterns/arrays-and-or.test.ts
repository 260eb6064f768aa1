/**
 * Arrays in events, arrays of objects, and $or.
 *
 * - "Arrays in EventBridge event patterns": if the event value is an array, the pattern matches when the
 *   intersection of the pattern's values and the event's array is non-empty.
 * - aws/event-ruler README, "JSON Array Matching": arrays of objects are flattened ("the array structure
 *   is crushed out"), but rulesForJSONEvent() - the array-consistent matcher - "will refuse to recognize any
 *   match in which any two fields are within JSON objects that are in different elements of the same array".
 * - aws/event-ruler README, "$or": examples and the conditions for $or being the operator.
 */
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../../src/engine/patterns/index.js';
import { envelope, matches } from './helpers.js';

describe('arrays of values in the event', () => {
  it('matches when any element matches (the documented resources example)', () => {
    const pattern = {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    };
    const matching = {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };
    expect(matches(pattern, matching)).toBe(true);
    expect(matches(pattern, { resources: [matching.resources[0]] })).toBe(false); // AWS-recorded arrays_NEG
    expect(matches(pattern, { resources: [] })).toBe(false);
  });

  it('applies every operator element by element, including nested arrays', () => {
    expect(matches({ tags: [{ prefix: 'env:' }] }, { tags: ['team:a', 'env:prod'] })).toBe(true);
    expect(matches({ n: [{ numeric: ['>', 10] }] }, { n: [1, 2, 30] })).toBe(true);
    expect(matches({ n: [{ numeric: ['>', 10] }] }, { n: [1, 2, 3] })).toBe(false);
    expect(matches({ n: [3] }, { n: [[1, 2], [3]] })).toBe(true);
  });

  it('anything-but matches when at least one element is not excluded', () => {
    const pattern = { detail: { state: [{ 'anything-but': 'stopped' }] } };
    expect(matches(pattern, envelope({ state: ['stopped', 'running'] }))).toBe(true);
    expect(matches(pattern, envelope({ state: ['stopped'] }))).toBe(false);
    expect(matches(pattern, envelope({ state: ['stopped', 'stopped'] }))).toBe(false);
    expect(matches(pattern, envelope({ state: [] }))).toBe(false); // an empty array has no value at all
    const list = { price: [{ 'anything-but': [100, 500] }] };
    expect(matches(list, { price: [100, 50] })).toBe(true); // contains a value that isn't 100 or 500
    expect(matches(list, { price: [100, 500] })).toBe(false);
    const prefix = { s: [{ 'anything-but': { prefix: 'init' } }] };
    expect(matches(prefix, { s: ['initializing', 'init'] })).toBe(false);
    expect(matches(prefix, { s: ['initializing', 'running'] })).toBe(true);
  });
});

describe('arrays of objects (event-ruler array-consistent matching)', () => {
  const employees = {
    employees: [
      { firstName: 'John', lastName: 'Doe' },
      { firstName: 'Anna', lastName: 'Smith' },
      { firstName: 'Peter', lastName: 'Jones' },
    ],
  };

  it('flattens arrays of objects: {"employees": {"firstName": ["Anna"]}} matches', () => {
    expect(matches({ employees: { firstName: ['Anna'] } }, employees)).toBe(true);
    expect(matches({ employees: { firstName: ['Maria'] } }, employees)).toBe(false);
  });

  it('also through multi-level arrays', () => {
    const nested = {
      employees: [
        [
          { firstName: 'John', lastName: 'Doe' },
          { firstName: 'Anna', lastName: 'Smith' },
        ],
        [{ firstName: 'Peter', lastName: 'Jones' }],
      ],
    };
    expect(matches({ employees: { firstName: ['Anna'] } }, nested)).toBe(true);
    expect(matches({ employees: { firstName: ['Peter'], lastName: ['Jones'] } }, nested)).toBe(true);
    expect(matches({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, nested)).toBe(false);
  });

  it('requires fields of one pattern object to come from the same array element ("Anna"/"Jones" does not match)', () => {
    expect(matches({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, employees)).toBe(false);
    expect(matches({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, employees)).toBe(true);
  });

  it('so {"a": {"b": [1], "c": [4]}} does not match {"a": [{"b": 1, "c": 2}, {"b": 3, "c": 4}]}', () => {
    const event = { a: [{ b: 1, c: 2 }, { b: 3, c: 4 }] };
    expect(matches({ a: { b: [1], c: [4] } }, event)).toBe(false);
    expect(matches({ a: { b: [1], c: [2] } }, event)).toBe(true);
    expect(matches({ a: { b: [3], c: [4] } }, event)).toBe(true);
    expect(matches({ a: { b: [1, 3], c: [4] } }, event)).toBe(true);
  });

  it('lets fields in different arrays match independently', () => {
    const event = { a: [{ b: 1 }, { b: 2 }], x: [{ y: 'p' }, { y: 'q' }] };
    expect(matches({ a: { b: [2] }, x: { y: ['p'] } }, event)).toBe(true);
  });

  it('keeps nested arrays consistent at every level', () => {
    const event = { a: [{ b: [{ c: 1, d: 2 }, { c: 3, d: 4 }], e: 'first' }, { b: [{ c: 5, d: 6 }], e: 'second' }] };
    expect(matches({ a: { b: { c: [1], d: [2] }, e: ['first'] } }, event)).toBe(true);
    expect(matches({ a: { b: { c: [1], d: [4] } } }, event)).toBe(false);
    expect(matches({ a: { b: { c: [5] }, e: ['first'] } }, event)).toBe(false);
    expect(matches({ a: { b: { c: [5] }, e: ['second'] } }, event)).toBe(true);
  });

  it('treats an array of values inside an element as belonging to that element', () => {
    const event = { items: [{ tags: ['x', 'y'], id: 1 }, { tags: ['z'], id: 2 }] };
    expect(matches({ items: { tags: ['z'], id: [1] } }, event)).toBe(false);
    expect(matches({ items: { tags: ['z'], id: [2] } }, event)).toBe(true);
    expect(matches({ items: { tags: ['y'], id: [1] } }, event)).toBe(true);
  });

  it('exists: true is satisfied by any element (AWS-recorded list_within_dict)', () => {
    const event = { detail: { automations: [{ key1: 'value1' }, { id: 'match-does-exist' }, { key2: 'value2' }] } };
    expect(matches({ detail: { automations: { id: [{ exists: true }] } } }, event)).toBe(true);
    expect(matches({ detail: { automations: { other: [{ exists: true }] } } }, event)).toBe(false);
  });

  it('exists: false on a path under an array means no element has it', () => {
    const pattern = { a: { b: [{ exists: false }] } };
    expect(matches(pattern, { a: [{ c: 1 }, { c: 2 }] })).toBe(true);
    expect(matches(pattern, { a: [{ c: 1 }, { b: 2 }] })).toBe(false);
    expect(matches(pattern, { a: [] })).toBe(true);
    expect(matches(pattern, { a: [{ b: [] }] })).toBe(true); // an empty array is no value
  });

  it('exists: false is checked against the elements chosen for the fields before it, in path order', () => {
    // event-ruler's ACFinder walks a rule's fields in sorted order and tests absence against the
    // array elements already committed to. "a.c" sorts before "a.z": c=1 commits element 0, which has no
    // "z", so z is absent there and the rule matches.
    expect(matches({ a: { c: [1], z: [{ exists: false }] } }, { a: [{ c: 1 }, { z: 5 }] })).toBe(true);
    expect(matches({ a: { c: [1], z: [{ exists: false }] } }, { a: [{ c: 1, z: 5 }] })).toBe(false);
    // "a.b" sorts before "a.c": absence of b is tested before any element is committed, so b in any
    // element refutes it.
    expect(matches({ a: { b: [{ exists: false }], c: [2] } }, { a: [{ b: 1 }, { c: 2 }] })).toBe(false);
  });
});

describe('$or', () => {
  it('matches the documented detail $or example (any of c-count, d-count, x-limit)', () => {
    const pattern = {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    };
    // AWS-recorded complex_or: c-count 0 fails, d-count 0 matches "< 10".
    expect(matches(pattern, envelope({ 'c-count': 0, 'd-count': 0, 'x-limit': 9.018e2 }))).toBe(true);
    expect(matches(pattern, envelope({ 'c-count': 0, 'd-count': 10, 'x-limit': 301.8 }))).toBe(true);
    expect(matches(pattern, envelope({ 'c-count': 0, 'd-count': 10, 'x-limit': 9.018e2 }))).toBe(false);
  });

  it('ANDs a field with an $or ("source" && ("metricName" || "namespace"))', () => {
    const pattern = {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    };
    expect(matches(pattern, { source: 'aws.cloudwatch', metricName: 'ReadLatency' })).toBe(true);
    expect(matches(pattern, { source: 'aws.cloudwatch', namespace: 'AWS/ES' })).toBe(true);
    expect(matches(pattern, { source: 'aws.cloudwatch', metricName: 'Other' })).toBe(false);
    expect(matches(pattern, { source: 'aws.ec2', metricName: 'ReadLatency' })).toBe(false);
  });

  it('handles parallel $or at two levels', () => {
    const pattern = {
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
      detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] },
    };
    expect(matches(pattern, { metricName: 'CPUUtilization', detail: { 'detail-type': 'CloudWatch Alarm State Change' } })).toBe(true);
    expect(matches(pattern, { namespace: 'AWS/EC2', detail: { source: 'aws.cloudwatch' } })).toBe(true);
    expect(matches(pattern, { namespace: 'AWS/EC2', detail: { source: 'other' } })).toBe(false);
  });

  it('handles nested $or and an "and" inside an alternative', () => {
    const pattern = {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization', 'ReadLatency'] },
        { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] },
        { scope: ['Service'] },
      ],
    };
    const base = { source: 'aws.cloudwatch' };
    expect(matches(pattern, { ...base, scope: 'Service' })).toBe(true);
    expect(matches(pattern, { ...base, metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 1000 })).toBe(true);
    expect(matches(pattern, { ...base, metricType: 'MetricType', namespace: 'AWS/EC2' })).toBe(false);
    expect(matches(pattern, { ...base, metricType: 'MetricType', spaceId: 1000 })).toBe(false);
  });

  it('works with exists inside alternatives', () => {
    const pattern = { detail: { $or: [{ a: [{ exists: true }] }, { b: ['x'] }] } };
    expect(matches(pattern, envelope({ a: 1 }))).toBe(true);
    expect(matches(pattern, envelope({ b: 'x' }))).toBe(true);
    expect(matches(pattern, envelope({ c: 1 }))).toBe(false);
  });

  it('lets a later write to the same field win, in document order (event-ruler JsonRuleCompiler)', () => {
    const first = compilePattern('{"a": ["1"], "$or": [{"a": ["2"]}, {"b": ["3"]}]}');
    expect(first.matches({ a: '2' })).toBe(true);
    expect(first.matches({ a: '1' })).toBe(false);
    expect(first.matches({ a: '1', b: '3' })).toBe(true);
    const second = compilePattern('{"$or": [{"a": ["2"]}, {"b": ["3"]}], "a": ["1"]}');
    expect(second.matches({ a: '2' })).toBe(false);
    expect(second.matches({ a: '1', b: '3' })).toBe(true);
  });

  it('falls back to "$or" as a field name when it is not a valid $or (event-ruler README)', () => {
    // Reserved operator names inside the objects: an ordinary field "$or" with two operators.
    const operators = compilePattern({ $or: [{ numeric: ['>', 0] }, { prefix: 'abc' }] });
    expect(operators.matches({ $or: 5 })).toBe(true);
    expect(operators.matches({ $or: 'abcd' })).toBe(true);
    expect(operators.matches({ $or: 'x' })).toBe(false);
    // An object after "$or": the nested field "$or.metricType".
    const nested = compilePattern({ source: ['aws.cloudwatch'], $or: { metricType: ['MetricType'] } });
    expect(nested.matches({ source: 'aws.cloudwatch', $or: { metricType: 'MetricType' } })).toBe(true);
    expect(nested.matches({ source: 'aws.cloudwatch', metricType: 'MetricType' })).toBe(false);
  });

  it('combines $or with arrays of objects per alternative', () => {
    const pattern = { a: { $or: [{ b: [1], c: [4] }, { b: [3] }] } };
    expect(matches(pattern, { a: [{ b: 1, c: 2 }, { b: 5, c: 4 }] })).toBe(false);
    expect(matches(pattern, { a: [{ b: 1, c: 2 }, { b: 3, c: 4 }] })).toBe(true);
  });
});
