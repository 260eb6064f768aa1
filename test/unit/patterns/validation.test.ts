/**
 * Which patterns are refused, and where the error says the problem is. The refusals follow event-ruler's
 * JsonRuleCompiler (the reasons AWS returns as "Event pattern is not valid. Reason: ..."); the cases
 * marked "AWS-recorded" are InvalidEventPatternException answers LocalStack recorded from AWS.
 */
import { describe, expect, it } from 'vitest';
import { compilePattern, PatternError } from '../../../src/engine/patterns/index.js';
import { refused } from './helpers.js';

describe('the pattern document', () => {
  it('must be a JSON object (AWS-recorded "Filter is not an object")', () => {
    refused(['not', 'a', 'dict'], '', /must be a JSON object, got an array/);
    refused('["not", "a", "dict", "but valid json"]', '', /must be a JSON object/);
    refused(null, '', /got null/);
    refused(42, '', /got a number/);
    refused('"just a string"', '', /got a string/);
  });

  it('must be valid JSON when given as text', () => {
    refused('this is valid json but not a dict', '', /not valid JSON/);
    refused("{'bad': 'quotation'}", '', /not valid JSON/);
  });

  it('may not be empty, nor contain empty objects ("Empty objects are not allowed")', () => {
    refused({}, '', /empty objects are not allowed/);
    refused({ detail: {} }, 'detail', /empty objects are not allowed/);
    refused({ detail: { a: { b: {} } } }, 'detail.a.b', /empty objects/);
  });

  it('is limited to 2048 characters by default (the EventBridge event pattern size quota)', () => {
    const long = { source: ['x'.repeat(2100)] };
    refused(long, '', /2048/);
    refused(JSON.stringify(long), '', /is \d+ characters long/);
    expect(() => compilePattern(long, { maxLength: 4096 })).not.toThrow();
    expect(() => compilePattern({ source: ['x'.repeat(2000)] })).not.toThrow();
  });

  it('is a PatternError carrying the path', () => {
    try {
      compilePattern({ detail: { price: 5 } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PatternError);
      expect(error).toBeInstanceOf(Error);
      expect((error as PatternError).path).toBe('detail.price');
      expect((error as PatternError).message).toBe('detail.price: a leaf must be an array of match values, got a number (write [5])');
    }
  });
});

describe('leaves', () => {
  it('must be arrays (AWS-recorded: "int" / "string" must be an object or an array)', () => {
    refused({ int: 42 }, 'int', 'a leaf must be an array of match values, got a number');
    refused({ string: 'my-value' }, 'string', 'got a string');
    refused({ detail: { price: 5 } }, 'detail.price', 'got a number');
    refused({ detail: { flag: true } }, 'detail.flag', 'got a boolean');
    refused({ detail: { nothing: null } }, 'detail.nothing', 'got null');
  });

  it('may not be empty (AWS-recorded arrays_empty_EXC: "Empty arrays are not allowed")', () => {
    refused({ resources: [] }, 'resources', /empty arrays are not allowed/);
  });

  it('contain only scalars or operator objects ("Match value must be String, number, true, false, or null")', () => {
    refused({ detail: { x: ['a', ['b']] } }, 'detail.x[1]', /got an array/);
  });

  it('refuse unknown operators, which are case-sensitive (AWS-recorded "Unrecognized match type")', () => {
    refused({ detail: { price: [{ between: [1, 2] }] } }, 'detail.price[0]', 'unknown operator "between"');
    refused({ detail: { equal: [{ NUMERIC: ['=', 5] }] } }, 'detail.equal[0]', 'unknown operator "NUMERIC"');
    refused({ my_key: [{ EXISTS: true }] }, 'my_key[0]', 'unknown operator "EXISTS"');
    refused({ my_key: [{ contains: 'x' }] }, 'my_key[0]', 'unknown operator "contains"');
  });

  it('refuse an empty operator object ("Match expression name not found")', () => {
    refused({ x: [{}] }, 'x[0]', /exactly one operator/);
  });

  it('refuse operator objects with more than one key ("Only one key allowed in match expression")', () => {
    refused({ x: [{ prefix: 'a', suffix: 'b' }] }, 'x[0]', /exactly one key, got "prefix", "suffix"/);
    refused({ x: [{ exists: true, prefix: 'a' }] }, 'x[0]', /exactly one key/);
  });

  it('refuse non-finite numbers', () => {
    refused({ x: [Number.NaN] }, 'x[0]', /not a JSON number/);
  });
});

describe('operator operands', () => {
  it('prefix / suffix / equals-ignore-case / wildcard / exactly need strings (AWS-recorded)', () => {
    refused({ time: [{ prefix: 123 }] }, 'time[0].prefix', /must be a string, got a number/);
    refused({ time: [{ prefix: ['2022-07-13'] }] }, 'time[0].prefix', /must be a string, got an array/);
    refused({ FileName: [{ suffix: 123 }] }, 'FileName[0].suffix', /must be a string/);
    refused({ FileName: [{ suffix: ['.png'] }] }, 'FileName[0].suffix', /must be a string/);
    refused({ 'detail-type': [{ 'equals-ignore-case': ['ec2'] }] }, 'detail-type[0].equals-ignore-case', /must be a string/);
    refused({ 'detail-type': [{ 'equals-ignore-case': { prefix: 'ec2' } }] }, 'detail-type[0].equals-ignore-case', /must be a string/);
    refused({ EventBusArn: [{ wildcard: 123 }] }, 'EventBusArn[0].wildcard', /must be a string/);
    refused({ EventBusArn: [{ wildcard: ['a*'] }] }, 'EventBusArn[0].wildcard', /must be a string/);
    refused({ x: [{ exactly: 5 }] }, 'x[0].exactly', /must be a string/);
  });

  it('prefix / suffix accept only equals-ignore-case as a nested operator', () => {
    refused({ x: [{ prefix: { wildcard: 'a' } }] }, 'x[0].prefix', /only "equals-ignore-case"/);
    refused({ x: [{ suffix: {} }] }, 'x[0].suffix', /got \{\}/);
    refused({ x: [{ prefix: { 'equals-ignore-case': 5 } }] }, 'x[0].prefix.equals-ignore-case', /must be a string/);
  });

  it('exists needs a boolean', () => {
    refused({ x: [{ exists: 'yes' }] }, 'x[0].exists', /true or false/);
    refused({ x: [{ exists: null }] }, 'x[0].exists', /true or false/);
  });

  it('cidr needs a well-formed block (AWS-recorded CIDR errors)', () => {
    refused({ detail: { sourceIPAddress: [{ cidr: ['bad-type'] }] } }, 'detail.sourceIPAddress[0].cidr', /must be a string/);
    refused({ ip: [{ cidr: '10.0.0.0' }] }, 'ip[0].cidr', /exactly one '\/'/);
    refused({ ip: [{ cidr: '10.0.0.0/' }] }, 'ip[0].cidr', /exactly one '\/'/);
    refused({ ip: [{ cidr: '10.0.0.0/8/8' }] }, 'ip[0].cidr', /exactly one '\/'/);
    refused({ ip: [{ cidr: '10.0.0.0/xx' }] }, 'ip[0].cidr', /mask bits must be an integer/);
    refused({ ip: [{ cidr: '10.0.0.0/-1' }] }, 'ip[0].cidr', /must not be negative/);
    refused({ ip: [{ cidr: 'xx.11.xx/24' }] }, 'ip[0].cidr', /nonstandard IP address: xx\.11\.xx/);
    refused({ ip: [{ cidr: 'xxxx:db8:1234:1a00::/64' }] }, 'ip[0].cidr', /nonstandard IP address/);
    refused({ ip: [{ cidr: '10.0.0.256/8' }] }, 'ip[0].cidr', /invalid IP address/);
    refused({ ip: [{ cidr: '10.0.0.1/32' }] }, 'ip[0].cidr', /IPv4 mask bits must be < 32/);
    refused({ ip: [{ cidr: '2001:db8::1/128' }] }, 'ip[0].cidr', /IPv6 mask bits must be < 128/);
    expect(() => compilePattern({ ip: [{ cidr: '10.0.0.0/+8' }] })).not.toThrow();
    expect(() => compilePattern({ ip: [{ cidr: '0.0.0.0/0' }] })).not.toThrow();
  });

  it('wildcard refuses consecutive * and bad escapes, at the byte position AWS reports', () => {
    // AWS-recorded: "Consecutive wildcard characters at pos 26".
    refused({ EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:**:event-bus/*' }] }, 'EventBusArn[0].wildcard', /consecutive wildcard characters \("\*\*"\) at position 26/);
    refused({ f: [{ wildcard: 'a\\b' }] }, 'f[0].wildcard', /invalid escape at position 2/);
    refused({ f: [{ wildcard: 'abc\\' }] }, 'f[0].wildcard', /invalid escape at position 4/);
    refused({ f: [{ wildcard: 'é**' }] }, 'f[0].wildcard', /position 3/); // é is two UTF-8 bytes
    expect(() => compilePattern({ f: [{ wildcard: '\\**' }] })).not.toThrow();
    expect(() => compilePattern({ f: [{ wildcard: '*\\**' }] })).not.toThrow();
  });

  it('wildcard refuses patterns that are too complex (AWS-recorded content_wildcard_complex_EXC)', () => {
    refused({ EventBusArn: [{ wildcard: '*:*:*:*:*:event-bus/*' }] }, 'EventBusArn', /rule is too complex/);
    expect(() => compilePattern({ FileName: [{ wildcard: '/Users/*/dir/dir/dir/dir/dir/doc.txt' }] })).not.toThrow();
    expect(() => compilePattern({ EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] })).not.toThrow();
  });
});

describe('anything-but operands', () => {
  it('take a string, a number, or a list of only strings or only numbers', () => {
    refused({ x: [{ 'anything-but': null }] }, 'x[0].anything-but', /string, a number, an array/);
    refused({ x: [{ 'anything-but': true }] }, 'x[0].anything-but', /got a boolean/);
    refused({ x: [{ 'anything-but': [] }] }, 'x[0].anything-but', /at least one value/);
    refused({ x: [{ 'anything-but': ['a', 1] }] }, 'x[0].anything-but', /only strings or only numbers/);
    // AWS-recorded content_anything_but_string_list_null_type_EXC
    refused({ detail: { state: [{ 'anything-but': ['stopped', null] }] } }, 'detail.state[0].anything-but[1]', /strings or numbers, got null/);
    refused({ x: [{ 'anything-but': [['a']] }] }, 'x[0].anything-but[0]', /got an array/);
  });

  it('nest only equals-ignore-case, prefix, suffix or wildcard', () => {
    refused({ x: [{ 'anything-but': { numeric: ['>', 1] } }] }, 'x[0].anything-but', /unsupported anything-but operator "numeric"/);
    refused({ x: [{ 'anything-but': { cidr: '10.0.0.0/8' } }] }, 'x[0].anything-but', /unsupported/);
    refused({ x: [{ 'anything-but': {} }] }, 'x[0].anything-but', /got \{\}/);
    refused({ x: [{ 'anything-but': { prefix: 'a', suffix: 'b' } }] }, 'x[0].anything-but', /exactly one key/);
  });

  it('nested operands are strings or lists of strings (AWS-recorded *_type_EXC, *_int_EXC)', () => {
    refused({ detail: { state: [{ 'anything-but': { 'equals-ignore-case': 123 } }] } }, 'detail.state[0].anything-but.equals-ignore-case', /got a number/);
    refused({ detail: { state: [{ 'anything-but': { 'equals-ignore-case': [123, 456] } }] } }, 'detail.state[0].anything-but.equals-ignore-case[0]', /must be strings/);
    refused({ detail: { state: [{ 'anything-but': { prefix: 123 } }] } }, 'detail.state[0].anything-but.prefix', /got a number/);
    refused({ detail: { state: [{ 'anything-but': { prefix: [123, 'test'] } }] } }, 'detail.state[0].anything-but.prefix[0]', /must be strings/);
    refused({ detail: { FileName: [{ 'anything-but': { suffix: 123 } }] } }, 'detail.FileName[0].anything-but.suffix', /got a number/);
    refused({ detail: { FileName: [{ 'anything-but': { suffix: [123, '.txt'] } }] } }, 'detail.FileName[0].anything-but.suffix[0]', /must be strings/);
    refused({ detail: { FilePath: [{ 'anything-but': { wildcard: 123 } }] } }, 'detail.FilePath[0].anything-but.wildcard', /got a number/);
    refused({ detail: { state: [{ 'anything-but': { wildcard: [123, '*/dir/*'] } }] } }, 'detail.state[0].anything-but.wildcard[0]', /must be strings/);
    // prefix/suffix with equals-ignore-case is not available under anything-but (AWS-recorded)
    refused({ detail: { FileName: [{ 'anything-but': { prefix: { 'equals-ignore-case': 'file' } } }] } }, 'detail.FileName[0].anything-but.prefix', /got an object/);
  });

  it('refuse empty prefixes and suffixes ("Null prefix/suffix not allowed")', () => {
    refused({ FileName: [{ 'anything-but': { prefix: '' } }] }, 'FileName[0].anything-but.prefix', /empty prefix/);
    refused({ FileName: [{ 'anything-but': { suffix: ['.a', ''] } }] }, 'FileName[0].anything-but.suffix', /empty suffix/);
  });

  it('validate nested wildcards', () => {
    refused({ f: [{ 'anything-but': { wildcard: ['ok*', 'bad**'] } }] }, 'f[0].anything-but.wildcard[1]', /consecutive wildcard/);
  });
});

describe('numeric operands', () => {
  it('must be an array', () => {
    refused({ x: [{ numeric: 5 }] }, 'x[0].numeric', /must be an array/);
    refused({ x: [{ numeric: [] }] }, 'x[0].numeric', /empty array/);
  });

  it('start with a known operator', () => {
    refused({ x: [{ numeric: ['!=', 5] }] }, 'x[0].numeric[0]', /unknown numeric operator "!="/);
    refused({ x: [{ numeric: [5, '>'] }] }, 'x[0].numeric[0]', /expected an operator/);
  });

  it('need numbers after operators (AWS-recorded "Value of < must be numeric")', () => {
    refused({ detail: { 'c-count': [{ numeric: ['>', 0, '<'] }] } }, 'detail.c-count[0].numeric', /a number must follow "<"/);
    refused({ x: [{ numeric: ['>'] }] }, 'x[0].numeric', /a number must follow ">"/);
    refused({ x: [{ numeric: ['>', '5'] }] }, 'x[0].numeric[1]', /must be a number, got a string/);
    refused({ x: [{ numeric: ['=', null] }] }, 'x[0].numeric[1]', /got null/);
  });

  it('write ranges lower bound first (AWS-recorded "Bad numeric range operator: >")', () => {
    refused({ detail: { 'c-count': [{ numeric: ['>', 0, '>', 0] }] } }, 'detail.c-count[0].numeric[2]', /upper bound must start with "<" or "<="/);
    refused({ x: [{ numeric: ['<', 5, '>', 0] }] }, 'x[0].numeric', /too many elements/);
    refused({ x: [{ numeric: ['=', 5, '<', 6] }] }, 'x[0].numeric', /too many elements/);
    refused({ x: [{ numeric: ['>', 0, '<', 5, 6] }] }, 'x[0].numeric', /too many elements/);
  });

  it('refuse empty ranges ("Bottom must be less than top")', () => {
    refused({ x: [{ numeric: ['>', 5, '<', 5] }] }, 'x[0].numeric', /lower bound 5 must be less than the upper bound 5/);
    refused({ x: [{ numeric: ['>=', 10, '<=', 1] }] }, 'x[0].numeric', /must be less than/);
  });

  it('accept any finite number', () => {
    expect(() => compilePattern({ x: [{ numeric: ['>', -1e300, '<', 1e300] }] })).not.toThrow();
    expect(() => compilePattern({ x: [{ numeric: ['=', 0.123456789] }] })).not.toThrow();
  });
});

describe('$or', () => {
  it('needs at least two alternatives ("There must have at least 2 Objects in $or relationship")', () => {
    refused({ $or: [{ a: ['x'] }] }, '$or', '$or: needs at least two alternatives, got 1');
    refused({ detail: { $or: [{ a: ['x'] }] } }, 'detail.$or', /at least two alternatives/);
    refused({ $or: [] }, '$or', /at least two alternatives, got 0/);
  });

  it('alternatives must be non-empty objects', () => {
    refused({ $or: [{ a: ['x'] }, 'b'] }, '$or[1]', /must be a pattern object, got a string/);
    refused({ $or: [{ a: ['x'] }, {}] }, '$or[1]', /empty objects/);
    refused({ $or: [{ a: ['x'] }, { b: 5 }] }, '$or[1].b', /a leaf must be an array/);
  });

  it('must be an array (when "$or" cannot be read as a field either)', () => {
    refused({ $or: 'x' }, '$or', /must be an array of at least two pattern objects, got a string/);
  });

  it('refuses more than 1000 rule combinations', () => {
    const alternatives = (n: number, key: string) => Array.from({ length: n }, (_, i) => ({ [`${key}${i}`]: ['v'] }));
    const pattern = { a: { $or: alternatives(11, 'x') }, b: { $or: alternatives(10, 'y') }, c: { $or: alternatives(10, 'z') } };
    refused(pattern, 'c.$or', /more than 1000 rule combinations/);
    const ok = { a: { $or: alternatives(10, 'x') }, b: { $or: alternatives(10, 'y') }, c: { $or: alternatives(10, 'z') } };
    expect(compilePattern(ok).matches({ a: { x3: 'v' }, b: { y9: 'v' }, c: { z0: 'v' } })).toBe(true);
  });
});

describe('accepted patterns', () => {
  it('accepts every documented operator form', () => {
    const pattern = {
      source: ['aws.ec2', 'aws.fargate'],
      time: [{ prefix: '2017-10-02' }],
      detail: {
        a: [{ prefix: { 'equals-ignore-case': 'EventB' } }],
        b: [{ suffix: '.png' }, { suffix: { 'equals-ignore-case': '.PNG' } }],
        c: [{ 'anything-but': 'x' }, { 'anything-but': 5 }, { 'anything-but': ['x', 'y'] }, { 'anything-but': [1, 2] }],
        d: [{ 'anything-but': { prefix: 'p' } }, { 'anything-but': { suffix: ['.s'] } }, { 'anything-but': { 'equals-ignore-case': 'E' } }, { 'anything-but': { wildcard: '*/lib/*' } }],
        e: [{ numeric: ['=', 3.018e2] }, { numeric: ['>', 0, '<=', 5] }, { numeric: ['>=', 0, '<', 5] }, { numeric: ['<=', 1] }],
        f: [{ exists: true }, { exists: false }],
        g: [{ cidr: '10.0.0.0/24' }, { cidr: '2001:db8::/32' }],
        h: [{ 'equals-ignore-case': 'alice' }, { wildcard: 'a*b\\*c' }, { exactly: 'z' }],
        i: ['', null, true, false, 0, -1.5],
        'dotted.key': ['ok'],
      },
    };
    expect(() => compilePattern(pattern)).not.toThrow();
    expect(() => compilePattern(JSON.stringify(pattern))).not.toThrow();
  });

  it('accepts operator names as field names outside $or', () => {
    expect(compilePattern({ numeric: ['x'], prefix: [1] }).matches({ numeric: 'x', prefix: 1 })).toBe(true);
  });
});
