import { describe, expect, it } from 'vitest';
import { failure, passOutput, runState } from './driver.js';

/** Evaluates several intrinsic expressions against one input (one machine). */
function evaluate(expressions: Record<string, string>, input: unknown): Record<string, unknown> {
  const parameters = Object.fromEntries(Object.entries(expressions).map(([k, v]) => [`${k}.$`, v]));
  return passOutput({ Parameters: parameters }, input) as Record<string, unknown>;
}

/** The failure of one expression. */
function fails(expression: string, input: unknown = {}): { status: string; error?: string; cause?: string } {
  return failure(runState({ Type: 'Pass', Parameters: { 'x.$': expression }, End: true }, input));
}

describe('intrinsic functions (examples of the AWS developer guide)', () => {
  it('States.Format', () => {
    expect(evaluate({ a: "States.Format('Hello, my name is {}.', $.name)", b: 'States.Format($.template, $.name)' }, { name: 'Arnav', template: 'Hello, my name is {}.' })).toEqual({
      a: 'Hello, my name is Arnav.',
      b: 'Hello, my name is Arnav.',
    });
  });

  it('States.Format escapes: \\\' \\{ \\} and \\\\', () => {
    const out = evaluate(
      {
        quote: "States.Format('It\\'s {}', $.v)",
        braces: "States.Format('\\{\\} is literal, {} is not', $.v)",
        backslash: "States.Format('a\\\\b {}', $.v)",
        values: "States.Format('{} {} {} {} {}', $.n, $.t, $.z, $.list, $.obj)",
      },
      { v: 'x', n: 1.5, t: true, z: null, list: [1, 'a'], obj: { k: 'v', n: [2] } },
    );
    expect(out).toEqual({ quote: "It's x", braces: '{} is literal, x is not', backslash: 'a\\b x', values: '1.5 true null [1, a] {k=v, n=[2]}' });
  });

  it('States.Format needs as many values as placeholders', () => {
    expect(fails("States.Format('{} and {}', $.a)", { a: 1 })).toMatchObject({ status: 'FAILED', error: 'States.IntrinsicFailure' });
  });

  it('an open escape backslash is a run-time States.IntrinsicFailure', () => {
    expect(fails("States.Format('a\\b')")).toMatchObject({ error: 'States.IntrinsicFailure' });
  });

  it('States.StringToJson and States.JsonToString', () => {
    expect(evaluate({ parsed: 'States.StringToJson($.escapedJsonString)', text: 'States.JsonToString($.unescapedJson)' }, { escapedJsonString: '{"foo": "bar"}', unescapedJson: { foo: 'bar' } })).toEqual({
      parsed: { foo: 'bar' },
      text: '{"foo":"bar"}',
    });
    expect(fails('States.StringToJson($.s)', { s: '{not json' })).toMatchObject({ error: 'States.IntrinsicFailure' });
  });

  it('States.Array', () => {
    expect(evaluate({ BuildId: 'States.Array($.Id)', many: "States.Array('a', 1, true, null, $.Id)", none: 'States.Array()' }, { Id: 123456 })).toEqual({
      BuildId: [123456],
      many: ['a', 1, true, null, 123456],
      none: [],
    });
  });

  it('array functions', () => {
    const input = { inputArray: [1, 2, 3, 4, 5, 6, 7, 8, 9], lookingFor: 5, index: 5, dupes: [1, 2, 3, 3, 3, 3, 3, 3, 4] };
    expect(
      evaluate(
        {
          partition: 'States.ArrayPartition($.inputArray, 4)',
          contains: 'States.ArrayContains($.inputArray, $.lookingFor)',
          notContains: 'States.ArrayContains($.inputArray, 10)',
          range: 'States.ArrayRange(1, 9, 2)',
          down: 'States.ArrayRange(9, 1, -2)',
          item: 'States.ArrayGetItem($.inputArray, $.index)',
          length: 'States.ArrayLength($.inputArray)',
          unique: 'States.ArrayUnique($.dupes)',
        },
        input,
      ),
    ).toEqual({
      partition: [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
      contains: true,
      notContains: false,
      range: [1, 3, 5, 7, 9],
      down: [9, 7, 5, 3, 1],
      item: 6,
      length: 9,
      unique: [1, 2, 3, 4],
    });
    expect(evaluate({ c: 'States.ArrayContains($.a, $.v)', u: 'States.ArrayUnique($.a)' }, { a: [{ x: [1] }, { x: [1] }, 'x'], v: { x: [1] } })).toEqual({ c: true, u: [{ x: [1] }, 'x'] });
  });

  it('array function failures', () => {
    expect(fails('States.ArrayPartition($.a, 0)', { a: [1] }).error).toBe('States.IntrinsicFailure');
    expect(fails('States.ArrayPartition($.a, 2)', { a: 'no' }).error).toBe('States.IntrinsicFailure');
    expect(fails('States.ArrayRange(1, 9, 0)').error).toBe('States.IntrinsicFailure');
    expect(fails('States.ArrayRange(1, 1.5, 1)').error).toBe('States.IntrinsicFailure');
    expect(fails('States.ArrayRange(0, 1000, 1)').error).toBe('States.IntrinsicFailure');
    expect(evaluate({ r: 'States.ArrayRange(0, 999, 1)' }, {}).r).toHaveLength(1000);
    expect(fails('States.ArrayGetItem($.a, 3)', { a: [1, 2, 3] }).error).toBe('States.IntrinsicFailure');
    expect(fails('States.ArrayLength($.a)', { a: {} }).error).toBe('States.IntrinsicFailure');
  });

  it('States.Base64Encode and States.Base64Decode', () => {
    expect(evaluate({ base64: 'States.Base64Encode($.input)', data: 'States.Base64Decode($.base64)' }, { input: 'Data to encode', base64: 'RGF0YSB0byBlbmNvZGU=' })).toEqual({
      base64: 'RGF0YSB0byBlbmNvZGU=',
      data: 'Data to encode',
    });
    expect(fails('States.Base64Encode($.s)', { s: 'x'.repeat(10_001) }).error).toBe('States.IntrinsicFailure');
    expect(fails('States.Base64Decode($.s)', { s: 'not base64!' }).error).toBe('States.IntrinsicFailure');
  });

  it('States.Hash with every algorithm', () => {
    expect(
      evaluate(
        {
          md5: "States.Hash($.Data, 'MD5')",
          sha1: 'States.Hash($.Data, $.Algorithm)',
          sha256: "States.Hash($.Data, 'SHA-256')",
          sha384: "States.Hash($.Data, 'SHA-384')",
          sha512: "States.Hash($.Data, 'SHA-512')",
        },
        { Data: 'input data', Algorithm: 'SHA-1' },
      ),
    ).toEqual({
      md5: '812f45842bc6d66ee14572ce20db8e86',
      sha1: 'aaff4a450a104cd177d28d18d74485e8cae074b7',
      sha256: 'b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3',
      sha384: 'd28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562',
      sha512: '6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4',
    });
    expect(fails("States.Hash($.d, 'SHA-2')", { d: 'x' }).error).toBe('States.IntrinsicFailure');
  });

  it('States.JsonMerge is shallow, and refuses deep mode', () => {
    const input = { json1: { a: { a1: 1, a2: 2 }, b: 2 }, json2: { a: { a3: 1, a4: 2 }, c: 3 } };
    expect(evaluate({ output: 'States.JsonMerge($.json1, $.json2, false)' }, input)).toEqual({ output: { a: { a3: 1, a4: 2 }, b: 2, c: 3 } });
    expect(fails('States.JsonMerge($.json1, $.json2, true)', input).error).toBe('States.IntrinsicFailure');
    expect(fails('States.JsonMerge($.json1, $.b, false)', { json1: {}, b: [1] }).error).toBe('States.IntrinsicFailure');
  });

  it('States.MathRandom uses the host random() (start inclusive, end exclusive); a seed makes it repeatable', () => {
    const low = runState({ Type: 'Pass', Parameters: { 'r.$': 'States.MathRandom($.start, $.end)' }, End: true }, { start: 1, end: 999 }, { random: () => 0 }).snapshot.output;
    const high = runState({ Type: 'Pass', Parameters: { 'r.$': 'States.MathRandom($.start, $.end)' }, End: true }, { start: 1, end: 999 }, { random: () => 0.999999 }).snapshot.output;
    expect([low, high]).toEqual([{ r: 1 }, { r: 998 }]);
    const seeded = evaluate({ a: 'States.MathRandom(1, 1000, 42)', b: 'States.MathRandom(1, 1000, 42)' }, {});
    expect(seeded.a).toBe(seeded.b);
    expect(seeded.a).toBeGreaterThanOrEqual(1);
    expect(seeded.a).toBeLessThan(1000);
  });

  it('States.MathAdd rounds non-integers and keeps to 32-bit integers', () => {
    expect(evaluate({ value1: 'States.MathAdd($.value1, $.step)', rounded: 'States.MathAdd(1.5, 2.4)' }, { value1: 111, step: -1 })).toEqual({ value1: 110, rounded: 4 });
    expect(fails('States.MathAdd(2147483647, 1)').error).toBe('States.IntrinsicFailure');
    expect(fails("States.MathAdd('1', 1)").error).toBe('States.IntrinsicFailure');
  });

  it('States.StringSplit splits on any of the delimiter characters', () => {
    expect(
      evaluate({ a: 'States.StringSplit($.inputString, $.splitter)', b: "States.StringSplit($.other, '.+,=')", c: "States.StringSplit('a,,b', ',')" }, { inputString: '1,2,3,4,5', splitter: ',', other: 'This.is+a,test=string' }),
    ).toEqual({ a: ['1', '2', '3', '4', '5'], b: ['This', 'is', 'a', 'test', 'string'], c: ['a', 'b'] });
  });

  it('States.UUID uses the host uuid()', () => {
    expect(evaluate({ uuid: 'States.UUID()' }, {})).toEqual({ uuid: '00000000-0000-4000-8000-000000000001' });
  });

  it('nests intrinsic functions (the myArn example of the guide)', () => {
    const expression =
      "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1), States.ArrayLength(States.Array(1, 2)))";
    expect(evaluate({ myArn: expression }, { ImageRecipe: { Arn: 'arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe/1.0.2' } })).toEqual({ myArn: '1.0.2' });
  });

  it('reads the context object and ResultSelector results', () => {
    expect(evaluate({ n: "States.Format('{}-{}', $$.Execution.Name, $$.State.Name)" }, {})).toEqual({ n: 'exec-1-S' });
  });

  it('a path argument that selects nothing is a States.IntrinsicFailure', () => {
    expect(fails('States.ArrayLength($.missing)')).toMatchObject({ error: 'States.IntrinsicFailure' });
  });
});
