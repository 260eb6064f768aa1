import { hostname } from 'node:os';
import {
  GetActivityTaskCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { asMeshError } from '../../errors.js';
import type { Logger } from '../../logging.js';

/**
 * Runs one agent-mesh task (`agent-mesh:<tool>` or `mcp:<integration>/<tool>`) for the tenant, as the starter of
 * `execution` (absent for definitions deployed before tasks named their execution); its result becomes the task output.
 */
export type ActivityTaskRunner = (
  tenantId: string,
  resource: string,
  input: unknown,
  signal: AbortSignal,
  execution?: { workflow: string; name: string },
) => Promise<unknown>;

/** Thrown by a runner to fail the task with exactly this ASL error name (mcp.ToolError, States.Timeout, …). */
export class ActivityTaskFailure extends Error {
  constructor(
    readonly error: string,
    override readonly cause: string,
  ) {
    super(`${error}: ${cause}`);
  }
}

export interface SfnActivityWorkerOptions {
  client: SFNClient;
  /** The shared activity every tenant's rewritten Task states point at. */
  activityArn: string;
  run: ActivityTaskRunner;
  /** How many tasks run at once (one long poll each). */
  concurrency?: number;
  /** How often a running task sends SendTaskHeartbeat. Keep it below the definitions' HeartbeatSeconds. */
  heartbeatIntervalMs?: number;
  /** First and longest wait after a failed poll (doubling, with jitter). */
  backoffMs?: { initial: number; max: number };
  /** On stop(), how long running tasks may finish before their signal is aborted. */
  drainMs?: number;
  workerName?: string;
  logger?: Pick<Logger, 'warn' | 'error' | 'debug'>;
}

/** Step Functions' quota for a task's output: 256 KiB of UTF-8 JSON text. */
const PAYLOAD_LIMIT = 262_144;
const MAX_ERROR = 256;
const MAX_CAUSE = 32_768;
const SEND_ATTEMPTS = 5;
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const RESOURCE = /^(agent-mesh:\S+|mcp:[^\s/]+\/\S+)$/;
/** The task is over on Step Functions' side (finished, timed out, execution stopped): report nothing more. */
const GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

const silent = { warn: () => {}, error: () => {}, debug: () => {} };

interface Running {
  abort: AbortController;
  /** Aborted by stop() after the drain time, rather than by Step Functions. */
  shutdown: boolean;
}

/**
 * Runs the agent-mesh tasks of Step Functions executions: long-polls GetActivityTask on the shared activity,
 * reads `{resource, tenant, input}` (the shape sfn-definition.ts gives every rewritten Task), calls `run`
 * and answers with SendTaskSuccess (the JSON result) or SendTaskFailure (`agent-mesh.<code>` and the
 * message, as the embedded runner names errors, so the same Retry/Catch apply), heartbeating meanwhile.
 * When a heartbeat finds the task gone (timed out, execution stopped) the callback's signal is aborted.
 * Poll failures are retried with backoff. A task handed out while stop() aborts the polls is lost to this
 * worker; Step Functions fails it on the state's TimeoutSeconds/HeartbeatSeconds, so set them.
 */
export class SfnActivityWorker {
  private readonly concurrency: number;
  private readonly heartbeatIntervalMs: number;
  private readonly backoff: { initial: number; max: number };
  private readonly drainMs: number;
  private readonly workerName: string;
  private readonly logger: Pick<Logger, 'warn' | 'error' | 'debug'>;
  private readonly running = new Set<Running>();
  private readonly sleepers = new Set<() => void>();
  private polls = new AbortController();
  private loops: Promise<void>[] = [];
  private stopped = true;

  constructor(private readonly options: SfnActivityWorkerOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 10_000;
    this.backoff = options.backoffMs ?? { initial: 200, max: 10_000 };
    this.drainMs = options.drainMs ?? 30_000;
    this.workerName = (options.workerName ?? `agent-mesh-${hostname()}-${process.pid}`).slice(0, 80);
    this.logger = options.logger ?? silent;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.polls = new AbortController();
    this.loops = Array.from({ length: this.concurrency }, () => this.loop());
  }

  /** Stops polling, lets running tasks finish (aborting them after the drain time) and waits for them to report. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.polls.abort();
    for (const wake of this.sleepers) wake();
    const drain = setTimeout(() => {
      for (const task of this.running) {
        task.shutdown = true;
        task.abort.abort(new Error('the activity worker is stopping'));
      }
    }, this.drainMs);
    await Promise.allSettled(this.loops);
    clearTimeout(drain);
    this.loops = [];
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let token: string | undefined;
      let input: string | undefined;
      try {
        const task = await this.options.client.send(new GetActivityTaskCommand({ activityArn: this.options.activityArn, workerName: this.workerName }), { abortSignal: this.polls.signal });
        token = task.taskToken;
        input = task.input;
        failures = 0;
      } catch (error) {
        if (this.stopped) return;
        failures++;
        this.logger.warn({ err: error, failures }, 'polling the Step Functions activity failed; backing off');
        await this.sleep(this.delay(failures));
        continue;
      }
      if (token) await this.handle(token, input ?? '');
    }
  }

  private async handle(token: string, text: string): Promise<void> {
    const task = parseTask(text);
    if (task === undefined) {
      await this.send(new SendTaskFailureCommand({ taskToken: token, error: 'agent-mesh.invalid_argument', cause: 'the activity task input is not {"resource", "tenant", "input"} from an agent-mesh definition' }));
      return;
    }
    const running: Running = { abort: new AbortController(), shutdown: false };
    let gone = false;
    this.running.add(running);
    const heartbeat = setInterval(() => {
      this.options.client.send(new SendTaskHeartbeatCommand({ taskToken: token })).catch((error: unknown) => {
        if (!GONE.has((error as Error).name)) return; // a missed heartbeat is retried at the next tick
        gone = true;
        running.abort.abort(new Error('Step Functions no longer waits for this task (timed out or stopped)'));
      });
    }, this.heartbeatIntervalMs);
    try {
      let output: string;
      try {
        output = JSON.stringify((await this.options.run(task.tenant, task.resource, task.input, running.abort.signal, task.execution)) ?? null);
      } catch (error) {
        if (gone) return;
        if (running.shutdown) {
          await this.fail(token, 'agent-mesh.unavailable', 'the agent-mesh worker stopped before the task finished');
          return;
        }
        if (error instanceof ActivityTaskFailure) {
          await this.fail(token, error.error, error.cause);
          return;
        }
        const meshError = asMeshError(error);
        if (meshError !== error) this.logger.error({ err: error, resource: task.resource, tenant: task.tenant }, 'an activity task failed with an unexpected error');
        await this.fail(token, `agent-mesh.${meshError.code}`, meshError.message);
        return;
      }
      if (gone) return;
      const size = Buffer.byteLength(output);
      if (size > PAYLOAD_LIMIT) {
        await this.fail(token, 'agent-mesh.quota_exceeded', `the task result has ${size} bytes, more than the ${PAYLOAD_LIMIT}-byte payload size quota`);
        return;
      }
      await this.send(new SendTaskSuccessCommand({ taskToken: token, output }));
    } finally {
      clearInterval(heartbeat);
      this.running.delete(running);
    }
  }

  private fail(token: string, error: string, cause: string): Promise<void> {
    return this.send(new SendTaskFailureCommand({ taskToken: token, error: error.slice(0, MAX_ERROR), cause: cause.slice(0, MAX_CAUSE) }));
  }

  /** Sends a task's result, retrying transient failures; a task Step Functions gave up on is left alone. */
  private async send(command: SendTaskSuccessCommand | SendTaskFailureCommand): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        // The command types differ only in input; the client's overloads need one at a time.
        if (command instanceof SendTaskSuccessCommand) await this.options.client.send(command);
        else await this.options.client.send(command);
        return;
      } catch (error) {
        const name = (error as Error).name;
        if (GONE.has(name)) {
          this.logger.debug({ err: error }, 'Step Functions no longer waits for this task result');
          return;
        }
        if (attempt >= SEND_ATTEMPTS || name === 'InvalidOutput') {
          this.logger.error({ err: error }, 'could not report an activity task result to Step Functions');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, this.delay(attempt)));
      }
    }
  }

  private delay(failures: number): number {
    const ceiling = Math.min(this.backoff.max, this.backoff.initial * 2 ** (failures - 1));
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}

function parseTask(text: string): { resource: string; tenant: string; input: unknown; execution?: { workflow: string; name: string } } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { resource, tenant, input, workflow, execution } = value as Record<string, unknown>;
  if (typeof resource !== 'string' || !RESOURCE.test(resource) || typeof tenant !== 'string' || !TENANT_ID.test(tenant)) return undefined;
  if ((workflow !== undefined || execution !== undefined) && (typeof workflow !== 'string' || typeof execution !== 'string')) return undefined;
  return { resource, tenant, input: input === undefined ? null : input, ...(typeof workflow === 'string' && typeof execution === 'string' && { execution: { workflow, name: execution } }) };
}
