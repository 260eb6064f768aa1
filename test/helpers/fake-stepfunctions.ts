import { randomUUID } from 'node:crypto';
import { SFNClient } from '@aws-sdk/client-sfn';
import {
  compileDefinition,
  DefinitionError,
  deliver,
  pendingEffects,
  startExecution,
  step,
  type ExecutionInput,
  type Machine,
  type Outcome,
  type Snapshot,
  type Transition,
} from '../../src/engine/asl/index.js';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION } from './aws-emulators.js';
import { AwsError, startAwsJsonServer, type AwsOperation } from './aws-json-server.js';

/** One request the fake received: the operation (from X-Amz-Target) and its JSON body. */
export interface FakeSfnCall {
  operation: string;
  body: Record<string, unknown>;
}

/** A history event in Step Functions' JSON shape (timestamps in epoch seconds, as awsJson1_0 sends them). */
export interface FakeHistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

export interface FakeStepFunctions {
  endpoint: string;
  account: string;
  region: string;
  /** Every request, in order, including refused ones. */
  calls: FakeSfnCall[];
  /** Activity tasks scheduled and not yet handed out by GetActivityTask, per activity ARN. */
  queuedTasks(activityArn: string): number;
  /** An SDK client pointed at the fake. */
  client(): SFNClient;
  /** The next `count` requests (of `operation`, or any) fail with HTTP 500 / ServiceUnavailable, or the given error. */
  failNext(count: number, options?: { operation?: string; type?: string; status?: number }): void;
  close(): Promise<void>;
}

export interface FakeStepFunctionsOptions {
  /** How long GetActivityTask waits for a task before answering with none (AWS: 60 s). */
  pollWaitMs?: number;
  /** Multiplies every timer (Wait, Retry intervals, task TimeoutSeconds/HeartbeatSeconds), so tests run fast. */
  timeScale?: number;
}

const ACCOUNT = '000000000000';
const JSON_1_0 = 'application/x-amz-json-1.0';
const TARGET_PREFIX = 'AWSStepFunctions.';
const NAME = /^[A-Za-z0-9_-]{1,80}$/;
const TOKEN_PREFIX = 'fake-sfn-token-';

interface StateMachine {
  arn: string;
  name: string;
  definition: string;
  roleArn: string;
  type: string;
  machine: Machine;
  /** State name → Type, for the `<Type>StateExited` event names. */
  stateTypes: Map<string, string>;
  creationDate: number;
  updateDate?: number;
}

interface ActivityTask {
  token: string;
  activityArn: string;
  execution: Execution;
  effectId: string;
  input: string;
  heartbeatSeconds?: number;
  state: 'queued' | 'started' | 'closed';
  timeoutTimer?: NodeJS.Timeout;
  heartbeatTimer?: NodeJS.Timeout;
}

interface Execution {
  arn: string;
  name: string;
  stateMachine: StateMachine;
  input: string;
  snapshot: Snapshot;
  startDate: number;
  stopDate?: number;
  events: FakeHistoryEvent[];
  /** Effect ids already acted on (task scheduled or failed, timer set). */
  known: Set<string>;
  /** Effect id → how the task runs: an activity (with its token) or a resource the fake cannot run. */
  tasks: Map<string, { kind: 'activity'; token: string; timedOut?: boolean } | { kind: 'other'; resource: string }>;
  inbox: ExecutionInput[];
  timers: NodeJS.Timeout[];
}

const seconds = (ms: number): number => ms / 1000;
const str = (value: unknown): string => JSON.stringify(value === undefined ? null : value);

/**
 * FAKE Step Functions, for tests only: no Step Functions emulator runs here, so this is a loopback HTTP
 * server speaking the Step Functions JSON protocol (awsJson1_0: POST /, X-Amz-Target:
 * AWSStepFunctions.<Operation>, content-type application/x-amz-json-1.0) for the state machine, activity
 * and execution operations agent-mesh uses. Executions run on agent-mesh's own ASL engine (src/engine/asl),
 * in memory and in real (scalable) time; a Task whose Resource is an activity this fake created is handed
 * out by GetActivityTask with the task's effective input, and any other resource fails with
 * States.TaskFailed. History events and errors have AWS's JSON shapes as far as the tests need them. It
 * checks no signatures, knows no IAM, and is not Step Functions.
 */
export async function startFakeStepFunctions(options: FakeStepFunctionsOptions = {}): Promise<FakeStepFunctions> {
  const pollWaitMs = options.pollWaitMs ?? 1000;
  const timeScale = options.timeScale ?? 1;
  const region = EMULATOR_REGION;
  const arnOf = (kind: string, name: string) => `arn:aws:states:${region}:${ACCOUNT}:${kind}:${name}`;
  const calls: FakeSfnCall[] = [];
  const stateMachines = new Map<string, StateMachine>();
  const activities = new Map<string, { arn: string; name: string; creationDate: number }>();
  const executions = new Map<string, Execution>();
  const tasks = new Map<string, ActivityTask>();
  const queues = new Map<string, ActivityTask[]>();
  const pollers = new Map<string, ((task: ActivityTask) => boolean)[]>();
  const injected: { remaining: number; operation?: string; type: string; status: number } = { remaining: 0, type: 'ServiceUnavailable', status: 500 };
  let closed = false;

  const hooks = () => ({ now: Date.now(), random: Math.random, uuid: randomUUID });
  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const timer = setTimeout(fn, Math.max(0, ms * timeScale));
    timer.unref();
    return timer;
  };

  const requireString = (body: Record<string, unknown>, field: string): string => {
    const value = body[field];
    if (typeof value !== 'string' || value === '') throw new AwsError('ValidationException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
    return value;
  };
  const stateMachineOf = (arn: string): StateMachine => {
    const found = stateMachines.get(arn);
    if (!found) throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return found;
  };
  const executionOf = (arn: string): Execution => {
    const found = executions.get(arn);
    if (!found) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return found;
  };
  const compile = (definition: string): { machine: Machine; stateTypes: Map<string, string> } => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(definition);
    } catch (error) {
      throw new AwsError('InvalidDefinition', `Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: ${(error as Error).message}'`);
    }
    try {
      return { machine: compileDefinition(parsed), stateTypes: stateTypesOf(parsed) };
    } catch (error) {
      if (error instanceof DefinitionError) throw new AwsError('InvalidDefinition', `Invalid State Machine Definition: '${error.problems.map((p) => `${p.path}: ${p.message}`).join(', ')}'`);
      throw error;
    }
  };

  // ---- executions -------------------------------------------------------------------------------------

  const addEvent = (execution: Execution, type: string, at: number, details?: Record<string, unknown>): void => {
    const id = execution.events.length + 1;
    execution.events.push({ id, previousEventId: id - 1, timestamp: seconds(at), type, ...details });
  };

  /** The engine's transitions as Step Functions history events. */
  const record = (execution: Execution, transitions: Transition[]): void => {
    for (const t of transitions) {
      const d = t.detail ?? {};
      const stateType = t.state === undefined ? '' : (execution.stateMachine.stateTypes.get(t.state) ?? 'Task');
      switch (t.type) {
        case 'ExecutionStarted':
          addEvent(execution, 'ExecutionStarted', t.at, { executionStartedEventDetails: { input: str(d.input), inputDetails: { truncated: false }, roleArn: execution.stateMachine.roleArn } });
          break;
        case 'StateEntered':
          addEvent(execution, `${String(d.type)}StateEntered`, t.at, { stateEnteredEventDetails: { name: t.state, input: str(d.input), inputDetails: { truncated: false } } });
          break;
        case 'StateExited':
          addEvent(execution, `${stateType}StateExited`, t.at, { stateExitedEventDetails: { name: t.state, output: str(d.output), outputDetails: { truncated: false } } });
          break;
        case 'TaskScheduled': {
          const resource = String(d.resource);
          if (activities.has(resource)) {
            addEvent(execution, 'ActivityScheduled', t.at, {
              activityScheduledEventDetails: {
                resource,
                input: str(d.input),
                inputDetails: { truncated: false },
                ...(d.timeoutSeconds !== undefined && { timeoutInSeconds: d.timeoutSeconds }),
                ...(d.heartbeatSeconds !== undefined && { heartbeatInSeconds: d.heartbeatSeconds }),
              },
            });
          } else {
            addEvent(execution, 'TaskScheduled', t.at, { taskScheduledEventDetails: { resourceType: 'unknown', resource, region, parameters: str(d.input) } });
          }
          break;
        }
        case 'TaskSucceeded':
          addEvent(execution, 'ActivitySucceeded', t.at, { activitySucceededEventDetails: { output: str(d.output), outputDetails: { truncated: false } } });
          break;
        case 'TaskFailed': {
          const task = execution.tasks.get(String(d.id));
          const details = { error: d.error, ...(d.cause !== undefined && { cause: d.cause }) };
          if (task?.kind === 'other') addEvent(execution, 'TaskFailed', t.at, { taskFailedEventDetails: { resourceType: 'unknown', resource: task.resource, ...details } });
          else if (task?.kind === 'activity' && task.timedOut) addEvent(execution, 'ActivityTimedOut', t.at, { activityTimedOutEventDetails: details });
          else addEvent(execution, 'ActivityFailed', t.at, { activityFailedEventDetails: details });
          break;
        }
        case 'ParallelStarted':
          addEvent(execution, 'ParallelStateStarted', t.at);
          break;
        case 'MapStarted':
          addEvent(execution, 'MapStateStarted', t.at, { mapStateStartedEventDetails: { length: d.length } });
          break;
        case 'MapIterationStarted':
          addEvent(execution, 'MapIterationStarted', t.at, { mapIterationStartedEventDetails: { name: t.state, index: d.index } });
          break;
        case 'ExecutionSucceeded':
          addEvent(execution, 'ExecutionSucceeded', t.at, { executionSucceededEventDetails: { output: str(d.output), outputDetails: { truncated: false } } });
          break;
        case 'ExecutionFailed':
          addEvent(execution, 'ExecutionFailed', t.at, { executionFailedEventDetails: { ...(d.error !== undefined && { error: d.error }), ...(d.cause !== undefined && { cause: d.cause }) } });
          break;
        case 'ExecutionTimedOut':
          addEvent(execution, 'ExecutionTimedOut', t.at, { executionTimedOutEventDetails: { error: d.error, cause: d.cause } });
          break;
        case 'ExecutionAborted':
          addEvent(execution, 'ExecutionAborted', t.at, { executionAbortedEventDetails: { ...(d.error !== undefined && { error: d.error }), ...(d.cause !== undefined && { cause: d.cause }) } });
          break;
        default:
          // RetryScheduled and WaitStarted have no event of their own on Step Functions.
          break;
      }
    }
  };

  const apply = (execution: Execution, outcome: Outcome): void => {
    execution.snapshot = outcome.snapshot;
    record(execution, outcome.transitions);
  };

  const closeTask = (task: ActivityTask): void => {
    task.state = 'closed';
    clearTimeout(task.timeoutTimer);
    clearTimeout(task.heartbeatTimer);
    const queue = queues.get(task.activityArn);
    if (queue) queues.set(task.activityArn, queue.filter((queued) => queued !== task));
  };

  /** Feeds an outcome to a task's execution, once: later results for the same token are TaskTimedOut. */
  const settleTask = (task: ActivityTask, input: ExecutionInput, timedOut = false): void => {
    closeTask(task);
    const entry = task.execution.tasks.get(task.effectId);
    if (timedOut && entry?.kind === 'activity') entry.timedOut = true;
    task.execution.inbox.push(input);
    drive(task.execution);
  };

  const offer = (task: ActivityTask): void => {
    const waiting = pollers.get(task.activityArn) ?? [];
    while (waiting.length > 0) {
      if (waiting.shift()!(task)) return;
    }
    queues.set(task.activityArn, [...(queues.get(task.activityArn) ?? []), task]);
  };

  const scheduleActivity = (execution: Execution, effect: { id: string; resource: string; input: unknown; timeoutSeconds?: number; heartbeatSeconds?: number }): void => {
    const token = `${TOKEN_PREFIX}${randomUUID()}`;
    const task: ActivityTask = {
      token,
      activityArn: effect.resource,
      execution,
      effectId: effect.id,
      input: str(effect.input),
      ...(effect.heartbeatSeconds !== undefined && { heartbeatSeconds: effect.heartbeatSeconds }),
      state: 'queued',
    };
    tasks.set(token, task);
    execution.tasks.set(effect.id, { kind: 'activity', token });
    if (effect.timeoutSeconds !== undefined) {
      const timeout = effect.timeoutSeconds;
      task.timeoutTimer = later(timeout * 1000, () => {
        if (task.state !== 'closed') settleTask(task, { kind: 'task-failed', id: task.effectId, error: 'States.Timeout', cause: `the activity task did not finish within ${timeout} seconds` }, true);
      });
    }
    offer(task);
  };

  const startHeartbeatTimer = (task: ActivityTask): void => {
    if (task.heartbeatSeconds === undefined) return;
    const heartbeat = task.heartbeatSeconds;
    clearTimeout(task.heartbeatTimer);
    task.heartbeatTimer = later(heartbeat * 1000, () => {
      if (task.state === 'started') settleTask(task, { kind: 'task-failed', id: task.effectId, error: 'States.HeartbeatTimeout', cause: `no heartbeat within ${heartbeat} seconds` }, true);
    });
  };

  /** Runs the execution as far as it goes without outside input, then starts its tasks and timers. */
  function drive(execution: Execution): void {
    const machine = execution.stateMachine.machine;
    for (;;) {
      while (execution.snapshot.status === 'RUNNING') {
        const moved = step(machine, execution.snapshot, hooks());
        if (moved) {
          apply(execution, moved);
          continue;
        }
        const input = execution.inbox.shift();
        if (input === undefined) break;
        apply(execution, deliver(machine, execution.snapshot, input, hooks()));
      }
      if (execution.snapshot.status !== 'RUNNING') {
        finish(execution);
        return;
      }
      for (const effect of pendingEffects(execution.snapshot)) {
        if (execution.known.has(effect.id)) continue;
        execution.known.add(effect.id);
        if (effect.kind === 'timer') {
          execution.timers.push(
            later(effect.until - Date.now(), () => {
              if (execution.snapshot.status !== 'RUNNING') return;
              execution.inbox.push({ kind: 'timer-fired', id: effect.id });
              drive(execution);
            }),
          );
        } else if (activities.has(effect.resource)) {
          scheduleActivity(execution, effect);
        } else {
          execution.tasks.set(effect.id, { kind: 'other', resource: effect.resource });
          execution.inbox.push({ kind: 'task-failed', id: effect.id, error: 'States.TaskFailed', cause: `the fake Step Functions runs only activity tasks, not ${effect.resource}` });
        }
      }
      if (execution.inbox.length === 0) return;
    }
  }

  function finish(execution: Execution): void {
    execution.stopDate ??= Date.now();
    for (const timer of execution.timers) clearTimeout(timer);
    for (const entry of execution.tasks.values()) {
      if (entry.kind !== 'activity') continue;
      const task = tasks.get(entry.token);
      if (task && task.state !== 'closed') closeTask(task);
    }
  }

  const describeExecution = (e: Execution) => ({
    executionArn: e.arn,
    stateMachineArn: e.stateMachine.arn,
    name: e.name,
    status: e.snapshot.status,
    startDate: seconds(e.startDate),
    ...(e.stopDate !== undefined && { stopDate: seconds(e.stopDate) }),
    input: e.input,
    inputDetails: { included: true },
    ...(e.snapshot.status === 'SUCCEEDED' && { output: str(e.snapshot.output), outputDetails: { included: true } }),
    ...(e.snapshot.error !== undefined && { error: e.snapshot.error }),
    ...(e.snapshot.cause !== undefined && { cause: e.snapshot.cause }),
  });

  const taskOf = (body: Record<string, unknown>): ActivityTask => {
    const token = requireString(body, 'taskToken');
    if (!token.startsWith(TOKEN_PREFIX)) throw new AwsError('InvalidToken', 'Invalid token');
    const task = tasks.get(token);
    if (!task) throw new AwsError('TaskDoesNotExist', 'Task does not exist');
    if (task.state === 'closed') throw new AwsError('TaskTimedOut', 'Task Timed Out');
    return task;
  };

  /** Pages a list with a NextToken that is the offset, bound to the request it came from. */
  const page = <T>(items: T[], body: Record<string, unknown>, scope: string, defaultSize: number): { items: T[]; nextToken?: string } => {
    const size = typeof body.maxResults === 'number' && body.maxResults > 0 ? Math.min(body.maxResults, 1000) : defaultSize;
    let start = 0;
    if (typeof body.nextToken === 'string') {
      let decoded: { scope?: string; offset?: number } = {};
      try {
        decoded = JSON.parse(Buffer.from(body.nextToken, 'base64url').toString('utf8')) as typeof decoded;
      } catch {
        // refused below
      }
      if (decoded.scope !== scope || typeof decoded.offset !== 'number') throw new AwsError('InvalidToken', 'Invalid Token');
      start = decoded.offset;
    }
    const end = start + size;
    return { items: items.slice(start, end), ...(end < items.length && { nextToken: Buffer.from(JSON.stringify({ scope, offset: end })).toString('base64url') }) };
  };

  // ---- operations -------------------------------------------------------------------------------------

  const operations: Record<string, AwsOperation> = {
    CreateStateMachine(body) {
      const name = requireString(body, 'name');
      if (!NAME.test(name)) throw new AwsError('InvalidName', `Invalid Name: '${name}'`);
      const definition = requireString(body, 'definition');
      const roleArn = requireString(body, 'roleArn');
      const type = typeof body.type === 'string' ? body.type : 'STANDARD';
      const { machine, stateTypes } = compile(definition);
      const arn = arnOf('stateMachine', name);
      const existing = stateMachines.get(arn);
      if (existing) {
        // Idempotent for the same definition and role, as on AWS.
        if (existing.definition === definition && existing.roleArn === roleArn && existing.type === type) return { stateMachineArn: arn, creationDate: seconds(existing.creationDate) };
        throw new AwsError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
      }
      const creationDate = Date.now();
      stateMachines.set(arn, { arn, name, definition, roleArn, type, machine, stateTypes, creationDate });
      return { stateMachineArn: arn, creationDate: seconds(creationDate) };
    },

    UpdateStateMachine(body) {
      const found = stateMachineOf(requireString(body, 'stateMachineArn'));
      if (typeof body.definition === 'string') {
        const { machine, stateTypes } = compile(body.definition);
        Object.assign(found, { definition: body.definition, machine, stateTypes });
      }
      if (typeof body.roleArn === 'string') found.roleArn = body.roleArn;
      found.updateDate = Date.now();
      return { updateDate: seconds(found.updateDate) };
    },

    DescribeStateMachine(body) {
      const found = stateMachineOf(requireString(body, 'stateMachineArn'));
      return { stateMachineArn: found.arn, name: found.name, status: 'ACTIVE', definition: found.definition, roleArn: found.roleArn, type: found.type, creationDate: seconds(found.creationDate) };
    },

    DeleteStateMachine(body) {
      const arn = requireString(body, 'stateMachineArn');
      const found = stateMachines.get(arn);
      if (found) {
        stateMachines.delete(arn);
        for (const execution of executions.values()) {
          if (execution.stateMachine === found && execution.snapshot.status === 'RUNNING') {
            apply(execution, deliver(found.machine, execution.snapshot, { kind: 'abort', cause: 'the state machine was deleted' }, hooks()));
            finish(execution);
          }
        }
      }
      return {};
    },

    ListStateMachines(body) {
      const all = [...stateMachines.values()].sort((a, b) => a.name.localeCompare(b.name)).map((m) => ({ stateMachineArn: m.arn, name: m.name, type: m.type, creationDate: seconds(m.creationDate) }));
      const { items, nextToken } = page(all, body, 'ListStateMachines', 100);
      return { stateMachines: items, ...(nextToken && { nextToken }) };
    },

    CreateActivity(body) {
      const name = requireString(body, 'name');
      if (!NAME.test(name)) throw new AwsError('InvalidName', `Invalid Name: '${name}'`);
      const arn = arnOf('activity', name);
      let activity = activities.get(arn);
      if (!activity) activities.set(arn, (activity = { arn, name, creationDate: Date.now() }));
      return { activityArn: arn, creationDate: seconds(activity.creationDate) };
    },

    StartExecution(body) {
      const stateMachine = stateMachineOf(requireString(body, 'stateMachineArn'));
      const name = typeof body.name === 'string' ? body.name : randomUUID();
      if (!NAME.test(name)) throw new AwsError('InvalidName', `Invalid Name: '${name}'`);
      const inputText = typeof body.input === 'string' ? body.input : '{}';
      let input: unknown;
      try {
        input = JSON.parse(inputText);
      } catch {
        throw new AwsError('InvalidExecutionInput', 'Invalid execution input: not JSON');
      }
      const arn = `arn:aws:states:${region}:${ACCOUNT}:execution:${stateMachine.name}:${name}`;
      const existing = executions.get(arn);
      if (existing) {
        // Idempotent for a running execution with the same input; otherwise the name is taken (AWS).
        if (existing.input === inputText && existing.snapshot.status === 'RUNNING') return { executionArn: arn, startDate: seconds(existing.startDate) };
        throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
      }
      const now = Date.now();
      const started = startExecution(stateMachine.machine, input, { executionId: arn, executionName: name, stateMachineId: stateMachine.arn, stateMachineName: stateMachine.name, now });
      const execution: Execution = { arn, name, stateMachine, input: inputText, snapshot: started.snapshot, startDate: now, events: [], known: new Set(), tasks: new Map(), inbox: [], timers: [] };
      executions.set(arn, execution);
      record(execution, started.transitions);
      drive(execution);
      return { executionArn: arn, startDate: seconds(now) };
    },

    DescribeExecution(body) {
      return describeExecution(executionOf(requireString(body, 'executionArn')));
    },

    GetExecutionHistory(body) {
      const execution = executionOf(requireString(body, 'executionArn'));
      const ordered = body.reverseOrder === true ? [...execution.events].reverse() : [...execution.events];
      const { items, nextToken } = page(ordered, body, `history:${execution.arn}:${body.reverseOrder === true}`, 100);
      return { events: items, ...(nextToken && { nextToken }) };
    },

    StopExecution(body) {
      const execution = executionOf(requireString(body, 'executionArn'));
      if (execution.snapshot.status === 'RUNNING') {
        const error = typeof body.error === 'string' ? body.error : undefined;
        const cause = typeof body.cause === 'string' ? body.cause : undefined;
        apply(execution, deliver(execution.stateMachine.machine, execution.snapshot, { kind: 'abort', ...(error !== undefined && { error }), ...(cause !== undefined && { cause }) }, hooks()));
        finish(execution);
      }
      return { stopDate: seconds(execution.stopDate ?? Date.now()) };
    },

    ListExecutions(body) {
      const stateMachine = stateMachineOf(requireString(body, 'stateMachineArn'));
      const status = typeof body.statusFilter === 'string' ? body.statusFilter : undefined;
      const all = [...executions.values()]
        .filter((e) => e.stateMachine === stateMachine && (status === undefined || e.snapshot.status === status))
        .sort((a, b) => b.startDate - a.startDate)
        .map((e) => ({ executionArn: e.arn, stateMachineArn: stateMachine.arn, name: e.name, status: e.snapshot.status, startDate: seconds(e.startDate), ...(e.stopDate !== undefined && { stopDate: seconds(e.stopDate) }) }));
      const { items, nextToken } = page(all, body, `executions:${stateMachine.arn}:${status ?? ''}`, 100);
      return { executions: items, ...(nextToken && { nextToken }) };
    },

    GetActivityTask(body, reply, res) {
      const arn = requireString(body, 'activityArn');
      if (!activities.has(arn)) throw new AwsError('ActivityDoesNotExist', `Activity Does Not Exist: '${arn}'`);
      const workerName = typeof body.workerName === 'string' ? body.workerName : undefined;
      const handOut = (task: ActivityTask): void => {
        task.state = 'started';
        addEvent(task.execution, 'ActivityStarted', Date.now(), { activityStartedEventDetails: workerName === undefined ? {} : { workerName } });
        startHeartbeatTimer(task);
        reply({ taskToken: task.token, input: task.input });
      };
      const queue = queues.get(arn) ?? [];
      const next = queue.shift();
      if (next) {
        handOut(next);
        return undefined;
      }
      // Long poll: wait for a task, or answer with none. A poller whose connection is gone takes no task.
      const socket = res.socket;
      let answered = false;
      const settle = (): void => {
        answered = true;
        clearTimeout(timer);
        socket?.off('end', settle);
        pollers.set(arn, (pollers.get(arn) ?? []).filter((p) => p !== take));
      };
      const take = (task: ActivityTask): boolean => {
        if (answered || res.destroyed || socket?.readableEnded === true || closed) return false;
        settle();
        handOut(task);
        return true;
      };
      const timer = setTimeout(() => {
        settle();
        reply({});
      }, pollWaitMs);
      res.on('close', settle);
      // A client that aborts its poll half-closes the connection; the server notices only the 'end'.
      socket?.on('end', settle);
      pollers.set(arn, [...(pollers.get(arn) ?? []), take]);
      return undefined;
    },

    SendTaskSuccess(body) {
      const task = taskOf(body);
      const text = requireString(body, 'output');
      let output: unknown;
      try {
        output = JSON.parse(text);
      } catch {
        throw new AwsError('InvalidOutput', 'Invalid output: not JSON');
      }
      settleTask(task, { kind: 'task-succeeded', id: task.effectId, output });
      return {};
    },

    SendTaskFailure(body) {
      const task = taskOf(body);
      const error = typeof body.error === 'string' ? body.error : undefined;
      const cause = typeof body.cause === 'string' ? body.cause : undefined;
      // An empty error is reported as States.TaskFailed would be matched: it still goes through Retry/Catch.
      settleTask(task, { kind: 'task-failed', id: task.effectId, error: error ?? '', ...(cause !== undefined && { cause }) });
      return {};
    },

    SendTaskHeartbeat(body) {
      const task = taskOf(body);
      if (task.state === 'started') startHeartbeatTimer(task);
      return {};
    },
  };

  const http = await startAwsJsonServer(
    { contentType: JSON_1_0, targetPrefix: TARGET_PREFIX, internalErrorType: 'InternalFailure', errorTypePrefix: 'com.amazonaws.swf.service.v2.model#' },
    operations,
    (operation, body) => {
      calls.push({ operation, body });
      if (injected.remaining > 0 && (injected.operation === undefined || injected.operation === operation)) {
        injected.remaining--;
        throw new AwsError(injected.type, 'injected failure', injected.status);
      }
    },
  );
  const { endpoint } = http;
  const clients: SFNClient[] = [];

  return {
    endpoint,
    account: ACCOUNT,
    region,
    calls,
    queuedTasks: (activityArn) => (queues.get(activityArn) ?? []).length,
    client() {
      const client = new SFNClient({ endpoint, region, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
      clients.push(client);
      return client;
    },
    failNext(count, failure = {}) {
      injected.remaining = count;
      injected.operation = failure.operation;
      injected.type = failure.type ?? 'ServiceUnavailable';
      injected.status = failure.status ?? 500;
    },
    close: async () => {
      closed = true;
      for (const execution of executions.values()) finish(execution);
      for (const client of clients) client.destroy();
      await http.close();
    },
  };
}

/** Every state's Type by name, at any depth (names are unique in a whole state machine). */
function stateTypesOf(definition: unknown): Map<string, string> {
  const types = new Map<string, string>();
  const walk = (machine: unknown): void => {
    const states = (machine as { States?: unknown } | null)?.States;
    if (typeof states !== 'object' || states === null) return;
    for (const [name, state] of Object.entries(states as Record<string, Record<string, unknown>>)) {
      types.set(name, String(state.Type));
      for (const branch of Array.isArray(state.Branches) ? state.Branches : []) walk(branch);
      walk(state.ItemProcessor);
      walk(state.Iterator);
    }
  };
  walk(definition);
  return types;
}
