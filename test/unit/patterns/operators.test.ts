/**
 * Every operator, with the examples of the Amazon EventBridge User Guide ("Amazon EventBridge event
 * patterns", "Content filtering in Amazon EventBridge event patterns", "Matching null values and empty
 * strings", "Arrays in EventBridge event patterns") and of the aws/event-ruler README, and the outcome
 * they document. Cases marked "AWS-recorded" come from fixtures that LocalStack recorded against the real
 * TestEventPattern API (localstack tests/aws/services/events/event_pattern_templates).
 */
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../../src/engine/patterns/index.js';
import { envelope, matches } from './helpers.js';

/** The EC2 example event of "Amazon EventBridge event patterns". */
const ec2 = envelope({ 'instance-id': 'i-1234567890abcdef0', state: 'terminated' });

/** The example event of the event-ruler README ("Ruler by Example"). */
const rulerEvent = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

describe('exact matching', () => {
  it('matches the documented EC2 instance-termination pattern', () => {
    const pattern = {
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['terminated'] },
    };
    expect(matches(pattern, ec2)).toBe(true);
    expect(matches(pattern, envelope({ state: 'running' }))).toBe(false);
    expect(matches({ ...pattern, source: ['aws.s3'] }, ec2)).toBe(false);
  });

  it('matches any of the listed values ("aws.ec2" or "aws.fargate")', () => {
    const pattern = { source: ['aws.ec2', 'aws.fargate'] };
    expect(matches(pattern, ec2)).toBe(true);
    expect(matches(pattern, { ...ec2, source: 'aws.fargate' })).toBe(true);
    expect(matches(pattern, { ...ec2, source: 'aws.s3' })).toBe(false);
  });

  it('is case-sensitive and does no normalisation', () => {
    expect(matches({ source: ['AWS.EC2'] }, ec2)).toBe(false);
    expect(matches({ source: ['aws.ec2 '] }, ec2)).toBe(false);
    expect(matches({ Source: ['aws.ec2'] }, ec2)).toBe(false); // field names too (AWS-recorded key_case_sensitive_NEG)
  });

  it('matches numbers (the Macie risk-score example)', () => {
    const event = envelope({ 'risk-score': 80, trigger: { risk: 8, 'alert-type': 'basic' } }, { source: 'aws.macie', 'detail-type': 'Macie Alert' });
    const pattern = { source: ['aws.macie'], 'detail-type': ['Macie Alert'], detail: { 'risk-score': [80], trigger: { risk: [8] } } };
    expect(matches(pattern, event)).toBe(true);
    expect(matches({ detail: { 'risk-score': [81] } }, event)).toBe(false);
  });

  it('compares numbers numerically: 300 matches 300.0 and 3.0e2 (AWS-recorded number_comparison_float)', () => {
    expect(matches({ number: [300] }, JSON.parse('{"number": 300.0}'))).toBe(true);
    expect(matches({ number: [300] }, JSON.parse('{"number": 3.0e2}'))).toBe(true);
    expect(matches('{"number": [3.0e2]}', { number: 300 })).toBe(true);
    expect(matches({ number: [0] }, { number: -0 })).toBe(true);
    expect(matches({ number: [300] }, { number: 300.5 })).toBe(false);
  });

  it('never mixes types: strings, numbers and booleans are distinct', () => {
    expect(matches({ n: ['5'] }, { n: 5 })).toBe(false);
    expect(matches({ n: [5] }, { n: '5' })).toBe(false);
    expect(matches({ b: [true] }, { b: 'true' })).toBe(false);
    expect(matches({ b: ['true'] }, { b: true })).toBe(false);
    expect(matches({ b: [true] }, { b: true })).toBe(true);
    expect(matches({ b: [false] }, { b: false })).toBe(true);
    expect(matches({ b: [false] }, { b: true })).toBe(false);
    expect(matches({ b: [1] }, { b: true })).toBe(false);
  });

  it('accepts a list mixing types and operators', () => {
    const pattern = { detail: { v: ['a', 1, null, { prefix: 'x' }] } };
    expect(matches(pattern, envelope({ v: 'a' }))).toBe(true);
    expect(matches(pattern, envelope({ v: 1 }))).toBe(true);
    expect(matches(pattern, envelope({ v: null }))).toBe(true);
    expect(matches(pattern, envelope({ v: 'xyz' }))).toBe(true);
    expect(matches(pattern, envelope({ v: 'b' }))).toBe(false);
    expect(matches(pattern, envelope({ v: 2 }))).toBe(false);
    expect(matches(pattern, envelope({}))).toBe(false);
  });

  it('requires every field of the pattern to be present with the same nesting', () => {
    expect(matches({ detail: { state: ['terminated'] } }, { state: 'terminated' })).toBe(false);
    expect(matches({ state: ['terminated'] }, ec2)).toBe(false);
  });

  it('matches top-level envelope fields (source, detail-type, account, region, time, id, version, resources)', () => {
    const pattern = {
      version: ['0'],
      id: ['6a7e8feb-b491-4cf7-a9f1-bf3703467718'],
      account: ['111122223333'],
      region: ['us-west-1'],
      time: ['2017-12-22T18:43:48Z'],
      resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
    };
    expect(matches(pattern, ec2)).toBe(true);
    expect(matches({ ...pattern, account: ['999999999999'] }, ec2)).toBe(false);
  });

  it('treats an IP-address literal as the address (event-ruler compiles it to a one-address range)', () => {
    expect(matches({ ip: ['10.0.0.1'] }, { ip: '10.0.0.1' })).toBe(true);
    expect(matches({ ip: ['2001:db8::1'] }, { ip: '2001:DB8:0:0:0:0:0:1' })).toBe(true);
    expect(matches({ ip: ['10.0.0.1'] }, { ip: '10.0.0.2' })).toBe(false);
  });

  it('has an "exactly" operator for a plain string', () => {
    expect(matches({ s: [{ exactly: 'a*b' }] }, { s: 'a*b' })).toBe(true);
    expect(matches({ s: [{ exactly: 'a*b' }] }, { s: 'axb' })).toBe(false);
  });
});

describe('null values and empty strings ("Matching null values and empty strings")', () => {
  const event = {
    version: '0',
    id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
    'detail-type': 'EC2 Instance Launch Successful',
    source: 'aws.autoscaling',
    account: '123456789012',
    time: '2015-11-11T21:31:47Z',
    region: 'us-east-1',
    resources: [],
    detail: { eventVersion: '', responseElements: null },
  };

  it('matches an empty string with [""]', () => {
    expect(matches({ detail: { eventVersion: [''] } }, event)).toBe(true);
  });

  it('matches null with [null]', () => {
    expect(matches({ detail: { responseElements: [null] } }, event)).toBe(true);
    expect(
      matches({ source: ['aws.autoscaling'], 'detail-type': ['EC2 Instance Launch Successful'], detail: { responseElements: [null] } }, event),
    ).toBe(true);
  });

  it('does not treat null and the empty string as interchangeable', () => {
    expect(matches({ detail: { eventVersion: [null] } }, event)).toBe(false);
    expect(matches({ detail: { responseElements: [''] } }, event)).toBe(false);
  });

  it('does not match a missing field with [null] or [""]', () => {
    expect(matches({ detail: { missing: [null] } }, event)).toBe(false);
    expect(matches({ detail: { missing: [''] } }, event)).toBe(false);
  });

  it('does not match an empty array with [null] (AWS-recorded arrays_empty_null_NEG)', () => {
    expect(matches({ resources: [null] }, event)).toBe(false);
  });

  it('counts null as present for exists, and an empty array as absent (AWS-recorded exists_list_empty_NEG)', () => {
    expect(matches({ detail: { responseElements: [{ exists: true }] } }, event)).toBe(true);
    expect(matches({ resources: [{ exists: true }] }, event)).toBe(false);
    expect(matches({ resources: [{ exists: false }] }, event)).toBe(true);
  });
});

describe('prefix and suffix', () => {
  it('matches a prefix ("time" starting with "2017-10-02")', () => {
    const pattern = { time: [{ prefix: '2017-10-02' }] };
    expect(matches(pattern, { time: '2017-10-02T18:43:48Z' })).toBe(true);
    expect(matches(pattern, { time: '2017-10-03T18:43:48Z' })).toBe(false);
  });

  it('matches European regions with a prefix (the Auto Scaling example)', () => {
    const pattern = { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] };
    expect(matches(pattern, { source: 'aws.autoscaling', region: 'eu-west-1' })).toBe(true);
    expect(matches(pattern, { source: 'aws.autoscaling', region: 'us-east-1' })).toBe(false);
  });

  it('only works on strings', () => {
    expect(matches({ n: [{ prefix: '12' }] }, { n: 123 })).toBe(false);
    expect(matches({ n: [{ suffix: '23' }] }, { n: 123 })).toBe(false);
    expect(matches({ n: [{ prefix: 'nu' }] }, { n: null })).toBe(false);
    expect(matches({ n: [{ prefix: 'tr' }] }, { n: true })).toBe(false);
  });

  it('an empty prefix or suffix matches any string value, and only strings', () => {
    expect(matches({ n: [{ prefix: '' }] }, { n: '' })).toBe(true);
    expect(matches({ n: [{ prefix: '' }] }, { n: 'abc' })).toBe(true);
    expect(matches({ n: [{ suffix: '' }] }, { n: 5 })).toBe(false);
  });

  it('matches a prefix ignoring case ({"prefix": {"equals-ignore-case": "EventB"}})', () => {
    const pattern = { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } };
    for (const service of ['EventBridge', 'EVENTBRIDGE', 'eventbridge', 'eVeNtB']) {
      expect(matches(pattern, envelope({ service }))).toBe(true);
    }
    expect(matches(pattern, envelope({ service: 'Event Bridge' }))).toBe(false);
  });

  it('matches a suffix (".png")', () => {
    const pattern = { FileName: [{ suffix: '.png' }] };
    expect(matches(pattern, { FileName: 'image.png' })).toBe(true);
    expect(matches(pattern, { FileName: 'image.PNG' })).toBe(false);
    expect(matches(pattern, { FileName: 'image.png.bak' })).toBe(false);
  });

  it('matches a suffix ignoring case ({"suffix": {"equals-ignore-case": ".png"}})', () => {
    const pattern = { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } };
    expect(matches(pattern, envelope({ FileName: 'image.PNG' }))).toBe(true);
    expect(matches(pattern, envelope({ FileName: 'image.Png' }))).toBe(true);
    expect(matches(pattern, envelope({ FileName: 'image.jpg' }))).toBe(false);
  });

  it('matches the "service ends with tbridge" example of the operator table', () => {
    const pattern = { service: [{ suffix: { 'equals-ignore-case': 'tBridge' } }] };
    expect(matches(pattern, { service: 'EventBridge' })).toBe(true);
    expect(matches(pattern, { service: 'EVENTBRIDGE' })).toBe(true);
  });
});

describe('equals-ignore-case', () => {
  it('matches regardless of case ("Name is Alice")', () => {
    const pattern = { Name: [{ 'equals-ignore-case': 'alice' }] };
    expect(matches(pattern, { Name: 'Alice' })).toBe(true);
    expect(matches(pattern, { Name: 'ALICE' })).toBe(true);
    expect(matches(pattern, { Name: 'Alicia' })).toBe(false);
    expect(matches(pattern, { Name: 5 })).toBe(false);
  });

  it('matches the detail-type example (AWS-recorded content_ignorecase)', () => {
    const pattern = { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] };
    expect(matches(pattern, ec2)).toBe(true);
    expect(matches(pattern, { ...ec2, 'detail-type': 'EC2 Instance State-change Notification!' })).toBe(false);
  });

  it('accepts, per pattern character, its lower-case or upper-case form (event-ruler EqualsIgnoreCaseParser)', () => {
    // "ß" upper-cases to "SS": the pattern accepts "ß" or "SS", not "ss".
    expect(matches({ s: [{ 'equals-ignore-case': 'straße' }] }, { s: 'STRASSE' })).toBe(true);
    expect(matches({ s: [{ 'equals-ignore-case': 'straße' }] }, { s: 'Straße' })).toBe(true);
    expect(matches({ s: [{ 'equals-ignore-case': 'straße' }] }, { s: 'strasse' })).toBe(false);
  });

  it('encodes a character outside the BMP as "?" per UTF-16 unit, as event-ruler (Java) does', () => {
    expect(matches({ s: [{ 'equals-ignore-case': 'a😀' }] }, { s: 'A??' })).toBe(true);
    expect(matches({ s: [{ 'equals-ignore-case': 'a😀' }] }, { s: 'a😀' })).toBe(false);
    expect(matches({ s: ['a😀'] }, { s: 'a😀' })).toBe(true); // exact matching is unaffected
  });

  it('matches the empty string only with an empty string (AWS-recorded content_ignorecase_empty)', () => {
    expect(matches({ s: [{ 'equals-ignore-case': '' }] }, { s: '' })).toBe(true);
    expect(matches({ s: [{ 'equals-ignore-case': '' }] }, { s: 'a' })).toBe(false);
  });
});

describe('anything-but', () => {
  it('excludes a single string ("initializing")', () => {
    const pattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };
    expect(matches(pattern, rulerEvent)).toBe(true); // state is "running"
    expect(matches(pattern, envelope({ state: 'initializing' }))).toBe(false);
  });

  it('excludes a single number (123)', () => {
    const pattern = { detail: { 'x-limit': [{ 'anything-but': 123 }] } };
    expect(matches(pattern, rulerEvent)).toBe(true);
    expect(matches(pattern, envelope({ 'x-limit': 123 }))).toBe(false);
    expect(matches(pattern, envelope({ 'x-limit': 123.0 }))).toBe(false);
    expect(matches({ x: [{ 'anything-but': 0 }] }, { x: 789 })).toBe(true); // AWS-recorded content_anything_but_number_zero
  });

  it('excludes a list of strings', () => {
    const pattern = { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };
    expect(matches(pattern, envelope({ state: 'running' }))).toBe(true);
    expect(matches(pattern, envelope({ state: 'stopped' }))).toBe(false);
    expect(matches(pattern, envelope({ state: 'overloaded' }))).toBe(false);
  });

  it('excludes a list of numbers', () => {
    const pattern = { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };
    expect(matches(pattern, rulerEvent)).toBe(true);
    expect(matches(pattern, envelope({ 'x-limit': 100 }))).toBe(false); // AWS-recorded content_anything_but_number_list_NEG
    expect(matches(pattern, envelope({ 'x-limit': 200.0 }))).toBe(false);
  });

  it('matches values of another type than the excluded ones', () => {
    expect(matches({ x: [{ 'anything-but': ['100'] }] }, { x: 100 })).toBe(true);
    expect(matches({ x: [{ 'anything-but': [100] }] }, { x: '100' })).toBe(true);
    expect(matches({ x: [{ 'anything-but': 'true' }] }, { x: true })).toBe(true);
  });

  it('matches null but never a missing field (AWS-recorded content_anything_but_string_null / _missing_NEG)', () => {
    const pattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };
    expect(matches(pattern, envelope({ state: null }))).toBe(true);
    expect(matches(pattern, envelope({}))).toBe(false);
    expect(matches({ detail: { state: [{ 'anything-but': ['stopped', 'running'] }] } }, envelope({ state: null }))).toBe(true);
    expect(matches({ detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, envelope({ state: null }))).toBe(true);
    expect(matches({ detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, envelope({}))).toBe(false);
  });

  it('excludes a prefix ("init")', () => {
    const pattern = { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } };
    expect(matches(pattern, envelope({ state: 'running' }))).toBe(true);
    expect(matches(pattern, envelope({ state: 'initializing' }))).toBe(false);
    expect(matches(pattern, envelope({ state: 12 }))).toBe(true); // AWS-recorded content_anything_prefix_int_value
  });

  it('excludes any of a list of prefixes', () => {
    const pattern = { detail: { state: [{ 'anything-but': { prefix: ['init', 'test'] } }] } };
    expect(matches(pattern, envelope({ state: 'running' }))).toBe(true);
    expect(matches(pattern, envelope({ state: 'testing' }))).toBe(false);
    expect(matches(pattern, envelope({ state: 12 }))).toBe(true); // AWS-recorded content_anything_prefix_list_int
  });

  it('excludes AWS sources with {"anything-but": {"prefix": "aws."}}', () => {
    const pattern = { source: [{ 'anything-but': { prefix: 'aws.' } }] };
    expect(matches(pattern, { source: 'com.mycompany.myapp' })).toBe(true);
    expect(matches(pattern, ec2)).toBe(false);
  });

  it('excludes a suffix (".png") and a list of suffixes', () => {
    const pattern = { FileName: [{ 'anything-but': { suffix: '.png' } }] };
    expect(matches(pattern, { FileName: 'notes.txt' })).toBe(true);
    expect(matches(pattern, { FileName: 'image.png' })).toBe(false);
    const list = { FileName: [{ 'anything-but': { suffix: ['.txt', '.bak'] } }] };
    expect(matches(list, { FileName: 'file.txt.bak' })).toBe(false);
    expect(matches(list, { FileName: 'file.png' })).toBe(true);
  });

  it('excludes ignoring case', () => {
    const pattern = { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] };
    expect(matches(pattern, { state: 'INITIALIZING' })).toBe(false);
    expect(matches(pattern, { state: 'Initializing' })).toBe(false);
    expect(matches(pattern, { state: 'running' })).toBe(true);
    const list = { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] };
    expect(matches(list, { state: 'STOPPED' })).toBe(false);
    expect(matches(list, { state: 'overloaded' })).toBe(false);
    expect(matches(list, { state: 'running' })).toBe(true);
  });

  it('excludes a wildcard ("*/lib/*") and a list of wildcards', () => {
    const pattern = { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] };
    expect(matches(pattern, { FilePath: '/usr/lib/libc.so' })).toBe(false);
    expect(matches(pattern, { FilePath: '/usr/bin/bash' })).toBe(true);
    expect(matches(pattern, { FilePath: 123 })).toBe(true); // AWS-recorded content_anything_wildcard_int
    const list = { FilePath: [{ 'anything-but': { wildcard: ['*/lib/*', '*.tmp'] } }] };
    expect(matches(list, { FilePath: 'x.tmp' })).toBe(false);
    expect(matches(list, { FilePath: 'x.txt' })).toBe(true);
    // An empty wildcard only excludes the empty string (AWS-recorded content_anything_wildcard_empty).
    expect(matches({ FilePath: [{ 'anything-but': { wildcard: '' } }] }, { FilePath: 'dir/init/file' })).toBe(true);
  });

  it('excludes CloudTrail API calls (the "anything-but matching example")', () => {
    const pattern = { 'detail-type': [{ 'anything-but': 'AWS API Call via CloudTrail' }] };
    expect(matches(pattern, ec2)).toBe(true);
    expect(matches(pattern, { 'detail-type': 'AWS API Call via CloudTrail' })).toBe(false);
  });
});

describe('numeric', () => {
  it('matches the documented numeric example (c-count > 0 and <= 5, d-count < 10, x-limit = 3.018e2)', () => {
    const pattern = {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    };
    expect(matches(pattern, rulerEvent)).toBe(true);
    expect(matches(pattern, { ...rulerEvent, detail: { ...rulerEvent.detail, 'c-count': 6 } })).toBe(false);
    expect(matches(pattern, { ...rulerEvent, detail: { ...rulerEvent.detail, 'c-count': 0 } })).toBe(false);
    expect(matches(pattern, { ...rulerEvent, detail: { ...rulerEvent.detail, 'd-count': 10 } })).toBe(false);
    expect(matches(pattern, { ...rulerEvent, detail: { ...rulerEvent.detail, 'x-limit': 301.81 } })).toBe(false);
  });

  it('honours open and closed bounds', () => {
    const at = (range: unknown[], n: number) => matches({ n: [{ numeric: range }] }, { n });
    expect(at(['>', 0], 0)).toBe(false);
    expect(at(['>=', 0], 0)).toBe(true);
    expect(at(['<', 0], 0)).toBe(false);
    expect(at(['<=', 0], 0)).toBe(true);
    expect(at(['>=', 0, '<', 5], 5)).toBe(false);
    expect(at(['>=', 0, '<', 5], 4.999)).toBe(true);
    expect(at(['>', 0, '<=', 5], 5)).toBe(true);
    expect(at(['=', 5], 5)).toBe(true);
    expect(at(['=', 5], 5.0000001)).toBe(false);
    expect(at(['<', 0], -1e12)).toBe(true);
  });

  it('matches the "Price is more than 10, and less than or equal to 20" table example', () => {
    const pattern = { Price: [{ numeric: ['>', 10, '<=', 20] }] };
    expect(matches(pattern, { Price: 20 })).toBe(true);
    expect(matches(pattern, { Price: 10 })).toBe(false);
  });

  it('only matches JSON numbers (AWS-recorded numeric-string_NEG, numeric-null_NEG)', () => {
    const pattern = { number: [{ numeric: ['>', 100] }] };
    expect(matches(pattern, { number: '300' })).toBe(false);
    expect(matches(pattern, { number: null })).toBe(false);
    expect(matches(pattern, { number: true })).toBe(false);
    expect(matches(pattern, {})).toBe(false);
    expect(matches(pattern, JSON.parse('{"number": 101.0}'))).toBe(true); // AWS-recorded numeric-int-float
  });

  it('combines numeric and anything-but in one list (AWS-recorded or-numeric-anything-but)', () => {
    const pattern = { N: [{ numeric: ['>', 100] }, { 'anything-but': '101' }] };
    expect(matches(pattern, { N: '42' })).toBe(true);
    expect(matches(pattern, { N: '101' })).toBe(false);
  });

  it('supports the full range of doubles (event-ruler 1.8, aws/event-ruler#188)', () => {
    expect(matches({ n: [{ numeric: ['>', 5e9] }] }, { n: 1e12 })).toBe(true);
    expect(matches({ n: [{ numeric: ['>', 3] }] }, { n: 3.14159265 })).toBe(true);
    expect(matches({ n: [{ numeric: ['=', 123456789012] }] }, { n: 123456789012 })).toBe(true);
  });
});

describe('IP address matching (cidr)', () => {
  it('matches addresses inside an IPv4 block ("10.0.0.0/24")', () => {
    const pattern = { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } };
    expect(matches(pattern, envelope({ sourceIPAddress: '10.0.0.0' }))).toBe(true);
    expect(matches(pattern, envelope({ sourceIPAddress: '10.0.0.255' }))).toBe(true);
    expect(matches(pattern, envelope({ sourceIPAddress: '10.0.1.0' }))).toBe(false);
    expect(matches(pattern, envelope({ sourceIPAddress: '9.255.255.255' }))).toBe(false);
  });

  it('matches the event-ruler README example ("10.0.0.33" in "10.0.0.0/24" and "10.0.0.0/8")', () => {
    expect(matches({ detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, rulerEvent)).toBe(true);
    expect(matches({ detail: { 'source-ip': [{ cidr: '10.0.0.0/8' }] } }, rulerEvent)).toBe(true);
    expect(matches({ detail: { 'source-ip': [{ cidr: '11.0.0.0/8' }] } }, rulerEvent)).toBe(false);
  });

  it('clears host bits of the block address ("10.0.0.5/24" is 10.0.0.0-10.0.0.255)', () => {
    expect(matches({ ip: [{ cidr: '10.0.0.5/24' }] }, { ip: '10.0.0.1' })).toBe(true);
  });

  it('matches IPv6 blocks', () => {
    const pattern = { ip: [{ cidr: '2001:db8:1234:1a00::/64' }] };
    expect(matches(pattern, { ip: '2001:db8:1234:1a00::1' })).toBe(true);
    expect(matches(pattern, { ip: '2001:DB8:1234:1A00:FFFF:FFFF:FFFF:FFFF' })).toBe(true);
    expect(matches(pattern, { ip: '2001:db8:1234:1a01::' })).toBe(false);
    expect(matches(pattern, { ip: '10.0.0.1' })).toBe(false); // another family
  });

  it('reads IPv4 octets as decimal and IPv4-mapped IPv6 literals as IPv4 addresses', () => {
    expect(matches({ ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '010.000.000.007' })).toBe(true);
    expect(matches({ ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '::ffff:a00:1' })).toBe(true);
  });

  it('never matches non-addresses or non-strings', () => {
    const pattern = { ip: [{ cidr: '10.0.0.0/8' }] };
    expect(matches(pattern, { ip: 'bad-type' })).toBe(false);
    expect(matches(pattern, { ip: 167772161 })).toBe(false);
    expect(matches(pattern, { ip: '10.0.0' })).toBe(false);
    expect(matches(pattern, { ip: '10.0.0.256' })).toBe(false);
  });
});

describe('exists', () => {
  it('exists: true matches a present leaf, of any type', () => {
    const pattern = { detail: { 'c-count': [{ exists: true }] } };
    expect(matches(pattern, rulerEvent)).toBe(true);
    expect(matches(pattern, envelope({ 'c-count': 'x' }))).toBe(true);
    expect(matches(pattern, envelope({ 'c-count': false }))).toBe(true);
    expect(matches(pattern, envelope({ state: 'x' }))).toBe(false);
  });

  it('exists: false matches an absent field (the documented detail.c-count examples)', () => {
    const pattern = { detail: { 'c-count': [{ exists: false }] } };
    const withoutCount = {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
      detail: { state: ['initializing', 'running'] },
    };
    expect(matches(pattern, withoutCount)).toBe(true);
    // "also matches the following event because c-count isn't a leaf node"
    expect(matches(pattern, { ...withoutCount, detail: { ...withoutCount.detail, 'c-count': { c1: 100 } } })).toBe(true);
    expect(matches(pattern, rulerEvent)).toBe(false);
  });

  it('only works on leaves (AWS-recorded exists_dynamodb / exists_dynamodb_NEG, content_exists_NEG)', () => {
    const event = { dynamodb: { id: { S: 'test1234' }, presentKey: { S: 'test123' } } };
    expect(matches({ dynamodb: { presentKey: [{ exists: true }] } }, event)).toBe(false);
    expect(matches({ dynamodb: { presentKey: { S: [{ exists: true }] } } }, event)).toBe(true);
    expect(matches({ detail: { state: [{ exists: true }] } }, envelope({ 'c-count': { c1: 100 } }))).toBe(false);
  });

  it('exists: false holds down missing nested paths (AWS-recorded content_exists_false / _NEG)', () => {
    const pattern = { detail: { level1: { level2: { level3: { level4: [{ exists: false }] } } } } };
    expect(matches(pattern, envelope({ level1: { level2: 'l2 value' } }))).toBe(true);
    expect(matches(pattern, envelope({ level1: { level2: { level3: { level4: 'l4 value' } } } }))).toBe(false);
    expect(matches(pattern, envelope({}))).toBe(true);
    expect(matches(pattern, { source: 'x' })).toBe(true);
    // A scalar where an object was expected: the path simply does not exist.
    expect(matches({ detail: { state: [{ exists: false }] } }, { detail: 'not an object' })).toBe(true);
  });

  it('exists: false next to other values ORs with them (AWS-recorded or-exists / or-anything-but)', () => {
    const pattern = { dynamodb: { NewImage: { homemade: { S: [{ 'anything-but': ['roses'] }, { exists: false }] } } } };
    expect(matches(pattern, { dynamodb: { NewImage: { homemade: { N: '789' } } } })).toBe(true);
    expect(matches(pattern, { dynamodb: { NewImage: { purchased: { N: '789' } } } })).toBe(true);
    expect(matches(pattern, { dynamodb: { NewImage: { homemade: { S: 'ABCD', N: '1234' } } } })).toBe(true);
    expect(matches(pattern, { dynamodb: { NewImage: { homemade: { S: 'roses' } } } })).toBe(false);
  });

  it('matches the exists examples of the event bus test (exists true/false on detail.key)', () => {
    expect(matches({ detail: { key: [{ exists: true }] } }, envelope({ key: 'value' }))).toBe(true);
    expect(matches({ detail: { key: [{ exists: true }] } }, envelope({ 'no-key': 'no-value' }))).toBe(false);
    expect(matches({ detail: { key: [{ exists: false }] } }, envelope({ key: 'value' }))).toBe(false);
    expect(matches({ detail: { key: [{ exists: false }] } }, envelope({ 'no-key': 'no-value' }))).toBe(true);
  });
});

describe('wildcard', () => {
  it('matches the documented event bus ARN example', () => {
    const pattern = { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] };
    expect(matches(pattern, { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/myEventBus' })).toBe(true);
    expect(matches(pattern, { EventBusArn: 'arn:aws:events:us-west-2:123456789012:event-bus/myEventBus' })).toBe(false);
  });

  it('matches "Simple*Service" (event-ruler README); * also matches nothing', () => {
    const pattern = { source: [{ wildcard: 'Simple*Service' }] };
    expect(matches(pattern, { source: 'SimpleQueueService' })).toBe(true);
    expect(matches(pattern, { source: 'SimpleService' })).toBe(true);
    expect(matches(pattern, { source: 'SimpleQueueServices' })).toBe(false);
  });

  it('matches repeating sequences (AWS-recorded content_wildcard_repeating / _NEG / nonrepeating_NEG)', () => {
    const pattern = { FileName: [{ wildcard: '/Users/*/dir/dir/dir/dir/dir/doc.txt' }] };
    expect(matches(pattern, { FileName: '/Users/ls_user/dir/dir/dir/dir/dir/doc.txt' })).toBe(true);
    expect(matches(pattern, { FileName: '/Users/ls_user/dir/dir/dir/dir/otherdir/doc.txt' })).toBe(false);
    expect(matches({ FileName: [{ wildcard: '/Users/*/doc.txt' }] }, { FileName: '/Users/ls_user/dir/notmatchingdoc.txt' })).toBe(false);
  });

  it('matches "*.png in the folder dir" (dir/*.png) and several wildcards', () => {
    expect(matches({ f: [{ wildcard: 'dir/*.png' }] }, { f: 'dir/image.png' })).toBe(true);
    expect(matches({ f: [{ wildcard: 'dir/*.png' }] }, { f: 'other/image.png' })).toBe(false);
    expect(matches({ f: [{ wildcard: '*a*b*' }] }, { f: 'xxaxxbxx' })).toBe(true);
    expect(matches({ f: [{ wildcard: '*a*b*' }] }, { f: 'xxbxxaxx' })).toBe(false);
    expect(matches({ f: [{ wildcard: '*' }] }, { f: '' })).toBe(true);
  });

  it('escapes * with \\* and \\ with \\\\', () => {
    expect(matches({ f: [{ wildcard: 'a\\*b' }] }, { f: 'a*b' })).toBe(true);
    expect(matches({ f: [{ wildcard: 'a\\*b' }] }, { f: 'axb' })).toBe(false);
    expect(matches({ f: [{ wildcard: 'a\\\\b' }] }, { f: 'a\\b' })).toBe(true);
    expect(matches({ f: [{ wildcard: 'a\\\\*' }] }, { f: 'a\\anything' })).toBe(true);
    expect(matches({ f: [{ wildcard: '\\**' }] }, { f: '*star' })).toBe(true);
    expect(matches({ f: [{ wildcard: '\\**' }] }, { f: 'star' })).toBe(false);
  });

  it('only matches strings', () => {
    expect(matches({ f: [{ wildcard: '*' }] }, { f: 5 })).toBe(false);
    expect(matches({ f: [{ wildcard: '*' }] }, { f: null })).toBe(false);
  });
});

describe('complex patterns', () => {
  it('matches the "complex example with multiple matching"', () => {
    const pattern = {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
        'source-ip': [{ cidr: '10.0.0.0/8' }],
      },
    };
    expect(matches(pattern, rulerEvent)).toBe(true);
    expect(matches(pattern, { ...rulerEvent, time: '2017-10-03T00:00:00Z' })).toBe(false);
    expect(matches(pattern, { ...rulerEvent, detail: { ...rulerEvent.detail, state: 'initializing' } })).toBe(false);
    expect(matches(pattern, { ...rulerEvent, detail: { ...rulerEvent.detail, 'x-limit': 200 } })).toBe(false);
  });

  it('matches the many-rules example of the event bus test (AWS-recorded complex_many_rules)', () => {
    const event = {
      source: 'core.update-account-command',
      'detail-type': 'core.app.backend',
      detail: {
        description: 'this-is-event-details', amount: 200, salary: 2000, env: 'prod', user: 'user3', admins: 'admin',
        test1: 300, test2: 'test22', test3: 'test333', test4: 'this test4', ip: '10.102.1.100',
        'num-test1': 100, 'num-test2': 200, 'num-test3': 300, 'num-test4': 200, 'num-test5': 500, 'num-test6': 300, 'num-test7': 300,
      },
    };
    const pattern = {
      source: [{ exists: true }],
      'detail-type': [{ prefix: 'core.app' }],
      detail: {
        description: ['this-is-event-details'], amount: [200], salary: [2000, 4000], env: ['dev', 'prod'],
        user: ['user1', 'user2', 'user3'], admins: ['skyli', { prefix: 'hey' }, { prefix: 'ad' }],
        test1: [{ 'anything-but': 200 }], test2: [{ 'anything-but': 'test2' }], test3: [{ 'anything-but': ['test3', 'test33'] }],
        test4: [{ 'anything-but': { prefix: 'test4' } }], ip: [{ cidr: '10.102.1.0/24' }],
        'num-test1': [{ numeric: ['<', 200] }], 'num-test2': [{ numeric: ['<=', 200] }], 'num-test3': [{ numeric: ['>', 200] }],
        'num-test4': [{ numeric: ['>=', 200] }], 'num-test5': [{ numeric: ['>=', 200, '<=', 500] }],
        'num-test6': [{ numeric: ['>', 200, '<', 500] }], 'num-test7': [{ numeric: ['>=', 200, '<', 500] }],
      },
    };
    expect(matches(pattern, event)).toBe(true);
  });

  it('accepts the pattern as JSON text', () => {
    const compiled = compilePattern('{"source": ["aws.ec2"], "detail": {"state": ["terminated"]}}');
    expect(compiled.matches(ec2)).toBe(true);
    expect(compiled.matches(JSON.stringify(ec2))).toBe(true);
  });

  it('joins keys with dots: "state.status" and {"state": {"status"}} address the same field (AWS-recorded dot_joining_*)', () => {
    const nested = envelope({ state: { status: 'running' } });
    const dotted = envelope({ 'state.status': 'running' });
    expect(matches({ detail: { 'state.status': ['running'] } }, nested)).toBe(true);
    expect(matches({ detail: { state: { status: ['running'] } } }, dotted)).toBe(true);
    expect(matches({ detail: { 'state.status': { status: ['running'] } } }, nested)).toBe(false);
    expect(matches({ detail: { state: { status: ['running'] } } }, envelope({ 'state.status': { status: 'running' } }))).toBe(false);
  });

  it('does not match events that are not JSON objects', () => {
    const compiled = compilePattern({ detail: { x: [{ exists: false }] } });
    expect(compiled.matches({})).toBe(true);
    expect(compiled.matches(null)).toBe(false);
    expect(compiled.matches([])).toBe(false);
    expect(compiled.matches('not json')).toBe(false);
    expect(compiled.matches(42)).toBe(false);
  });
});
