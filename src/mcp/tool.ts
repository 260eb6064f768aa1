import { z } from 'zod';
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { RateLimitedService } from '../limits/services.js';
import type { Services } from '../services/index.js';
import type { TenantSession } from '../tenancy/session.js';
import type { Permission, ToolGroup } from '../tenancy/tool-groups.js';
import { errorOutputSchema } from './errors.js';

export interface ToolContext {
  session: TenantSession;
  services: Services;
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
  /** Success or the error envelope: tool errors carry structuredContent too, and clients validate it. */
  outputSchema: JsonSchema;
  successSchema: JsonSchema;
  input: z.ZodObject;
  call(context: ToolContext, args: unknown): Promise<Record<string, unknown>>;
  text(result: Record<string, unknown>): string;
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
  return {
    name: spec.name,
    group: spec.group,
    permission: spec.permission,
    rateLimit: spec.rateLimit,
    title: spec.title,
    description: spec.description,
    annotations: spec.annotations,
    inputSchema: toJsonSchema(spec.input, 'input'),
    outputSchema: { $schema, type: 'object', anyOf: [success, error] },
    successSchema,
    input: spec.input,
    call: async (context, args) => (await spec.call(context, args as z.output<I>)) as Record<string, unknown>,
    text: spec.text ? (result) => spec.text!(result as z.input<O>) : defaultText,
  };
}
