import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { asMeshError, invalidArgument, type MeshError } from '../errors.js';
import type { Services } from '../services/index.js';
import { sendableTextOf } from '../services/content-types.js';
import { MAX_READ_BYTES } from '../services/artifact-service.js';
import type { TenantSession } from '../tenancy/session.js';
import { callerSession } from './request-session.js';
import { ProtocolError } from './protocol-error.js';

const ARTIFACT = 'artifact://';
const EXECUTION = 'workflow://executions/';
/** MCP's "resource not found" error code. */
const RESOURCE_NOT_FOUND = -32002;

/** artifact://reports/q1%20summary.md — each key segment percent-encoded, "/" kept. */
export const artifactUri = (key: string): string => ARTIFACT + key.split('/').map(encodeURIComponent).join('/');

export function keyFromArtifactUri(uri: string): string {
  if (!uri.startsWith(ARTIFACT)) throw invalidArgument('uri', `must start with ${ARTIFACT}`);
  try {
    return uri.slice(ARTIFACT.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    throw invalidArgument('uri', 'has a malformed percent-encoding');
  }
}

function toProtocolError(error: unknown): ProtocolError {
  const meshError: MeshError = asMeshError(error);
  const code =
    meshError.code === 'not_found' ? RESOURCE_NOT_FOUND : meshError.code === 'internal' ? ErrorCode.InternalError : ErrorCode.InvalidParams;
  return new ProtocolError(code, `${meshError.code}: ${meshError.message}`, { code: meshError.code, ...meshError.details });
}

const guarded =
  <A extends unknown[], R>(handler: (...args: A) => Promise<R>) =>
  async (...args: A): Promise<R> => {
    try {
      return await handler(...args);
    } catch (error) {
      throw toProtocolError(error);
    }
  };

export interface ResourceGroups {
  artifacts: boolean;
  workflows: boolean;
  /** resources/subscribe to workflow executions (not when nothing outlives a request: HTTP --stateless). */
  subscribe?: boolean;
}

/**
 * MCP resources: artifacts (`artifact://{key}`, listed a page at a time and read as text or blob) and workflow
 * executions (`workflow://executions/{id}`, read as their status JSON, subscribable: `resources/updated`
 * follows each transition).
 */
export function registerResources(server: Server, session: TenantSession, services: Services, groups: ResourceGroups): void {
  const subscriptions = new Map<string, () => void>();
  const previousOnClose = server.onclose;
  server.onclose = () => {
    for (const unsubscribe of subscriptions.values()) unsubscribe();
    subscriptions.clear();
    previousOnClose?.();
  };

  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [
      ...(groups.artifacts ? [{ uriTemplate: `${ARTIFACT}{key}`, name: 'artifact', title: 'Artifact', description: 'An artifact of this tenant, by key.' }] : []),
      ...(groups.workflows
        ? [{ uriTemplate: `${EXECUTION}{id}`, name: 'workflow-execution', title: 'Workflow execution', description: 'A workflow execution\'s status; subscribe for live updates.', mimeType: 'application/json' }]
        : []),
    ],
  }));

  server.setRequestHandler(
    ListResourcesRequestSchema,
    guarded(async (request, extra) => {
      if (!groups.artifacts) return { resources: [] };
      const page = await services.artifacts.list(callerSession(session, extra), { ...(request.params?.cursor && { cursor: request.params.cursor }) });
      return {
        resources: page.artifacts.map((artifact) => ({ uri: artifactUri(artifact.key), name: artifact.key, mimeType: artifact.content_type, size: artifact.size })),
        ...(page.next_cursor && { nextCursor: page.next_cursor }),
      };
    }),
  );

  server.setRequestHandler(
    ReadResourceRequestSchema,
    guarded(async (request, extra) => {
      const { uri } = request.params;
      const caller = callerSession(session, extra);
      if (groups.workflows && uri.startsWith(EXECUTION)) {
        const status = await services.workflows.status(caller, uri.slice(EXECUTION.length));
        return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(status) }] };
      }
      if (!groups.artifacts) throw invalidArgument('uri', `must start with ${EXECUTION}`);
      const { meta, body } = await services.artifacts.read(caller, keyFromArtifactUri(uri));
      if (body.length > MAX_READ_BYTES) {
        // Sent whole, it would pass what an SDK stdio client accepts in one message, and the client would disconnect.
        throw invalidArgument('uri', `the artifact is ${body.length} bytes, more than a resource read returns (${MAX_READ_BYTES}); read it in parts with artifacts_get`);
      }
      const text = sendableTextOf(meta.contentType, body);
      return { contents: [{ uri, mimeType: meta.contentType, ...(text !== undefined ? { text } : { blob: body.toString('base64') }) }] };
    }),
  );

  if (!groups.workflows || groups.subscribe === false) return;
  server.setRequestHandler(
    SubscribeRequestSchema,
    guarded(async (request, extra) => {
      const { uri } = request.params;
      if (!uri.startsWith(EXECUTION)) throw invalidArgument('uri', `only ${EXECUTION}{id} resources can be subscribed to`);
      if (!subscriptions.has(uri)) {
        const unsubscribe = await services.workflows.watch(callerSession(session, extra), uri.slice(EXECUTION.length), () => {
          server.sendResourceUpdated({ uri }).catch(() => {});
        });
        subscriptions.set(uri, unsubscribe);
      }
      return {};
    }),
  );
  server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscriptions.get(request.params.uri)?.();
    subscriptions.delete(request.params.uri);
    return {};
  });
}
