import type { CancelSignal } from '../cancellation.js';
import { z } from 'zod';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { RateLimitedService } from '../limits/services.js';
import type { Services } from '../services/index.js';
import type { TenantSession } from '../tenancy/session.js';
import type { Permission, ToolGroup } from '../tenancy/tool-groups.js';
import { errorOutputSchema } from './errors.js';

export interface ToolContext {
  session: TenantSession;
  services: Services;
  /** Aborted when the client cancels the request. */
  signal: CancelSignal;
  /** Set when the client asked for progress (sent a progressToken). */
  progress?: (progress: number, total?: number, message?: string) => void;
}

export type JsonSchema = { type: 'object'; [keyword: string]: unknown };

interface ToolSpec<I extends z.ZodObject, O extends z.ZodObject> {
  name: string;
  group: ToolGroup;
  /** Checked again by the service; here it decides whether tools/list shows the tool. */
  permission: Permission;
  /** The bucket a call draws from (for the docs). */
  rateLimit: RateLimitedService;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations?: ToolAnnotations;
  call(context: ToolContext, args: z.output<I>): Promise<z.input<O>>;
  /** The text block for clients that read only text; default: the result as JSON, or a note when it is large. */
  text?(result: z.input<O>): string;
  /**
   * Offered as a task (MCP tasks, experimental): a task-aware client may call it task-augmented and poll.
   * The arguments the task runs with (e.g. a longer wait).
   */
  asTask?(args: z.output<I>): z.output<I>;
}

/** A tool whose result is someone else's (an upstream's), passed through as is: it declares no outputSchema. */
interface PassThroughToolSpec<I extends z.ZodObject> extends Omit<ToolSpec<I, z.ZodObject>, 'output' | 'call' | 'text'> {
  /** What the result is, for the docs. */
  resultDescription: string;
  call(context: ToolContext, args: z.output<I>): Promise<CallToolResult>;
}

/** A tool as the server sees it: schemas already in JSON Schema, arguments still unparsed. */
export interface Tool {
  name: string;
  group: ToolGroup;
  permission: Permission;
  rateLimit: RateLimitedService;
  title: string;
  description: string;
  annotations: ToolAnnotations | undefined;
  inputSchema: JsonSchema;
  /** Success or the error envelope (tool errors carry structuredContent too, and clients validate it); none for pass-through tools. */
  outputSchema: JsonSchema | undefined;
  /** The success shape, or a description of a passed-through result. */
  result: { schema: JsonSchema } | { description: string };
  input: z.ZodObject;
  /** Runs the tool on parsed arguments; errors are thrown as MeshError. */
  invoke(context: ToolContext, args: unknown): Promise<CallToolResult>;
  /** Set for tools offered as tasks: the arguments a task-augmented call runs with. */
  taskArgs?: (args: unknown) => unknown;
}

/**
 * Results are sent twice, as structuredContent and as text; beyond this size the text only points to the
 * structured copy, so a large result does not double a message past what clients accept (the SDK client
 * refuses lines over 10 MB).
 */
export const MAX_TEXT_COPY_CHARS = 256 * 1024;

/** One item per line, and how to get more: the short text of list tools. */
export function listText(items: string[], nextCursor: string | null | undefined): string {
  const more = nextCursor ? `\n(more: call again with cursor ${JSON.stringify(nextCursor)})` : '';
  return items.length === 0 ? `none${more}` : `${items.join('\n')}${more}`;
}

export function defaultText(result: Record<string, unknown>): string {
  const json = JSON.stringify(result);
  return json.length <= MAX_TEXT_COPY_CHARS ? json : `The result is ${json.length} characters of JSON; read it from structuredContent.`;
}

const toJsonSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema =>
  z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as JsonSchema;

export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(spec: ToolSpec<I, O>): Tool {
  const successSchema = toJsonSchema(spec.output, 'output');
  const { $schema, ...success } = successSchema;
  const { $schema: _ignored, ...error } = toJsonSchema(errorOutputSchema, 'output');
  const text = spec.text ? (result: Record<string, unknown>) => spec.text!(result as z.input<O>) : defaultText;
  return {
    ...describe(spec),
    outputSchema: { $schema, type: 'object', anyOf: [success, error] },
    result: { schema: successSchema },
    ...(spec.asTask && { taskArgs: (args: unknown) => spec.asTask!(args as z.output<I>) }),
    invoke: async (context, args) => {
      const structured = (await spec.call(context, args as z.output<I>)) as Record<string, unknown>;
      return { content: [{ type: 'text', text: text(structured) }], structuredContent: structured };
    },
  };
}

export function definePassThroughTool<I extends z.ZodObject>(spec: PassThroughToolSpec<I>): Tool {
  return {
    ...describe(spec),
    outputSchema: undefined,
    result: { description: spec.resultDescription },
    invoke: (context, args) => spec.call(context, args as z.output<I>),
  };
}

function describe(spec: Omit<ToolSpec<z.ZodObject, z.ZodObject>, 'output' | 'call' | 'text'>) {
  return {
    name: spec.name,
    group: spec.group,
    permission: spec.permission,
    rateLimit: spec.rateLimit,
    title: spec.title,
    description: spec.description,
    annotations: spec.annotations,
    inputSchema: toJsonSchema(spec.input, 'input'),
    input: spec.input,
  };
}
