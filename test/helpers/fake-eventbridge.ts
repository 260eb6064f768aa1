import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { compilePattern, type CompiledPattern } from '../../src/engine/patterns/index.js';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION } from './aws-emulators.js';
import { AwsError, startAwsJsonServer, type AwsOperation } from './aws-json-server.js';

/** One request the fake received: the operation (from X-Amz-Target) and its JSON body. */
export interface FakeCall {
  operation: string;
  body: Record<string, unknown>;
}

export interface FakeTarget {
  Id: string;
  Arn: string;
  RoleArn?: string;
}

export interface FakeRule {
  Name: string;
  Arn: string;
  EventBusName: string;
  EventPattern: string;
  State: 'ENABLED' | 'DISABLED';
  Description?: string;
  targets: Map<string, FakeTarget>;
  matcher: CompiledPattern;
}

/** An event the fake accepted, as EventBridge would hand it to rules, and the enabled rules it matched. */
export interface FakeEvent {
  eventBusName: string;
  envelope: {
    version: '0';
    id: string;
    'detail-type': string;
    source: string;
    account: string;
    time: string;
    region: string;
    resources: string[];
    detail: Record<string, unknown>;
  };
  matchedRules: string[];
}

export interface FakeEventBridge {
  endpoint: string;
  /** Every request, in order, including refused ones. */
  calls: FakeCall[];
  events: FakeEvent[];
  /** Rules by `<bus>/<name>`. */
  rules: Map<string, FakeRule>;
  createEventBus(name: string): void;
  /** The next `count` PutEvents entries fail with `code` (ThrottlingException by default), as EventBridge does per entry. */
  failEntries(count: number, code?: string): void;
  /** An SDK client pointed at the fake. */
  client(): EventBridgeClient;
  close(): Promise<void>;
}

const ACCOUNT = '000000000000';
const JSON_1_1 = 'application/x-amz-json-1.1';
const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;

/**
 * FAKE EventBridge, for tests only: no EventBridge emulator runs here, so this is a loopback HTTP server
 * speaking the EventBridge JSON protocol (awsJson1_1: POST /, X-Amz-Target: AWSEvents.<Operation>) for
 * PutEvents, PutRule, PutTargets, RemoveTargets, ListTargetsByRule, DeleteRule, DescribeEventBus and
 * ListRules. It keeps buses, rules and events in memory, records every call, matches events against
 * enabled rules with agent-mesh's own pattern engine, and answers errors in AWS's JSON shape
 * (ResourceNotFoundException, ValidationException, InvalidEventPatternException). It checks no
 * signatures and models only what the tests exercise; it is not EventBridge.
 */
export async function startFakeEventBridge(options: { buses?: string[] } = {}): Promise<FakeEventBridge> {
  const buses = new Set(['default', ...(options.buses ?? [])]);
  const calls: FakeCall[] = [];
  const events: FakeEvent[] = [];
  const rules = new Map<string, FakeRule>();
  const injected: { remaining: number; code: string } = { remaining: 0, code: 'ThrottlingException' };

  const busOf = (body: Record<string, unknown>, field = 'EventBusName'): string => {
    const name = typeof body[field] === 'string' ? (body[field] as string) : 'default';
    if (!buses.has(name)) throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return name;
  };
  const ruleOf = (body: Record<string, unknown>, field: string): FakeRule => {
    const bus = busOf(body);
    const name = String(body[field] ?? '');
    const rule = rules.get(`${bus}/${name}`);
    if (!rule) throw new AwsError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus}.`);
    return rule;
  };
  const ruleArn = (bus: string, name: string) => `arn:aws:events:${EMULATOR_REGION}:${ACCOUNT}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;

  const operations: Record<string, AwsOperation> = {
    PutEvents(body) {
      const entries = body.Entries;
      if (!Array.isArray(entries) || entries.length === 0 || entries.length > 10) {
        throw new AwsError(
          'ValidationException',
          `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1`,
        );
      }
      // An unknown bus refuses the whole request before any entry lands.
      const busNames = entries.map((raw: Record<string, unknown>) => busOf(raw));
      const results = entries.map((raw: Record<string, unknown>, i) => {
        const bus = busNames[i]!;
        if (injected.remaining > 0) {
          injected.remaining--;
          return { ErrorCode: injected.code, ErrorMessage: 'Rate exceeded' };
        }
        if (typeof raw.Source !== 'string' || typeof raw.DetailType !== 'string' || typeof raw.Detail !== 'string') {
          return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameters Source, DetailType and Detail are required.' };
        }
        let detail: unknown;
        try {
          detail = JSON.parse(raw.Detail);
        } catch {
          detail = undefined;
        }
        if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
        const id = randomUUID();
        const seconds = typeof raw.Time === 'number' ? raw.Time : Date.now() / 1000;
        const envelope: FakeEvent['envelope'] = {
          version: '0',
          id,
          'detail-type': raw.DetailType,
          source: raw.Source,
          account: ACCOUNT,
          time: new Date(Math.floor(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          region: EMULATOR_REGION,
          resources: Array.isArray(raw.Resources) ? (raw.Resources as string[]) : [],
          detail: detail as Record<string, unknown>,
        };
        const matchedRules = [...rules.values()].filter((rule) => rule.EventBusName === bus && rule.State === 'ENABLED' && rule.matcher.matches(envelope)).map((rule) => rule.Name);
        events.push({ eventBusName: bus, envelope, matchedRules });
        return { EventId: id };
      });
      return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
    },

    PutRule(body) {
      const bus = busOf(body);
      const name = String(body.Name ?? '');
      if (!RULE_NAME.test(name)) {
        throw new AwsError('ValidationException', `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length less than or equal to 64`);
      }
      if (typeof body.EventPattern !== 'string') throw new AwsError('ValidationException', 'Parameter(s) EventPattern or ScheduleExpression must be specified.');
      let matcher: CompiledPattern;
      try {
        matcher = compilePattern(JSON.parse(body.EventPattern));
      } catch (error) {
        throw new AwsError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${(error as Error).message}`);
      }
      const state = body.State ?? 'ENABLED';
      if (state !== 'ENABLED' && state !== 'DISABLED') throw new AwsError('ValidationException', `State ${String(state)} is not valid.`);
      const key = `${bus}/${name}`;
      const arn = ruleArn(bus, name);
      rules.set(key, {
        Name: name,
        Arn: arn,
        EventBusName: bus,
        EventPattern: body.EventPattern,
        State: state,
        ...(typeof body.Description === 'string' && { Description: body.Description }),
        targets: rules.get(key)?.targets ?? new Map(),
        matcher,
      });
      return { RuleArn: arn };
    },

    PutTargets(body) {
      const rule = ruleOf(body, 'Rule');
      const targets = Array.isArray(body.Targets) ? (body.Targets as FakeTarget[]) : [];
      if (targets.length === 0 || targets.length > 10) throw new AwsError('ValidationException', 'Targets must have 1 to 10 members.');
      for (const target of targets) {
        if (!target.Id || !target.Arn) throw new AwsError('ValidationException', 'Every target needs an Id and an Arn.');
        rule.targets.set(target.Id, { Id: target.Id, Arn: target.Arn, ...(target.RoleArn && { RoleArn: target.RoleArn }) });
      }
      if (rule.targets.size > 5) throw new AwsError('LimitExceededException', 'The requested resource exceeds the maximum number allowed.');
      return { FailedEntryCount: 0, FailedEntries: [] };
    },

    RemoveTargets(body) {
      const rule = ruleOf(body, 'Rule');
      for (const id of Array.isArray(body.Ids) ? (body.Ids as string[]) : []) rule.targets.delete(id);
      return { FailedEntryCount: 0, FailedEntries: [] };
    },

    ListTargetsByRule(body) {
      return { Targets: [...ruleOf(body, 'Rule').targets.values()] };
    },

    DeleteRule(body) {
      const bus = busOf(body);
      const key = `${bus}/${String(body.Name ?? '')}`;
      const rule = rules.get(key);
      if (rule && rule.targets.size > 0) throw new AwsError('ValidationException', "Rule can't be deleted since it has targets.");
      rules.delete(key); // deleting a missing rule succeeds, as on AWS
      return {};
    },

    DescribeEventBus(body) {
      const name = busOf(body, 'Name');
      return { Name: name, Arn: `arn:aws:events:${EMULATOR_REGION}:${ACCOUNT}:event-bus/${name}` };
    },

    ListRules(body) {
      const bus = busOf(body);
      const prefix = typeof body.NamePrefix === 'string' ? body.NamePrefix : '';
      const limit = typeof body.Limit === 'number' ? body.Limit : 100;
      const start = typeof body.NextToken === 'string' ? Number(body.NextToken) : 0;
      const matching = [...rules.values()].filter((rule) => rule.EventBusName === bus && rule.Name.startsWith(prefix)).sort((a, b) => a.Name.localeCompare(b.Name));
      const page = matching.slice(start, start + limit).map(({ targets: _targets, matcher: _matcher, ...rule }) => rule);
      return { Rules: page, ...(start + limit < matching.length && { NextToken: String(start + limit) }) };
    },
  };

  const http = await startAwsJsonServer(
    { contentType: JSON_1_1, targetPrefix: 'AWSEvents.', internalErrorType: 'InternalException' },
    operations,
    (operation, body) => void calls.push({ operation, body }),
  );
  const { endpoint } = http;
  const clients: EventBridgeClient[] = [];

  return {
    endpoint,
    calls,
    events,
    rules,
    createEventBus: (name) => void buses.add(name),
    failEntries(count, code = 'ThrottlingException') {
      injected.remaining = count;
      injected.code = code;
    },
    client() {
      const client = new EventBridgeClient({ endpoint, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const client of clients) client.destroy();
      await http.close();
    },
  };
}
