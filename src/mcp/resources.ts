import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { asMeshError, invalidArgument, type MeshError } from '../errors.js';
import type { Services } from '../services/index.js';
import { textOf } from '../services/content-types.js';
import type { TenantSession } from '../tenancy/session.js';

const SCHEME = 'artifact://';
/** MCP's "resource not found" error code. */
const RESOURCE_NOT_FOUND = -32002;

/** artifact://reports/q1%20summary.md — each key segment percent-encoded, "/" kept. */
export const artifactUri = (key: string): string => SCHEME + key.split('/').map(encodeURIComponent).join('/');

export function keyFromArtifactUri(uri: string): string {
  if (!uri.startsWith(SCHEME)) throw invalidArgument('uri', `must start with ${SCHEME}`);
  try {
    return uri.slice(SCHEME.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    throw invalidArgument('uri', 'has a malformed percent-encoding');
  }
}

function toMcpError(error: unknown): McpError {
  const meshError: MeshError = asMeshError(error);
  const code =
    meshError.code === 'not_found' ? RESOURCE_NOT_FOUND : meshError.code === 'internal' ? ErrorCode.InternalError : ErrorCode.InvalidParams;
  return new McpError(code, `${meshError.code}: ${meshError.message}`, { code: meshError.code, ...meshError.details });
}

/** Artifacts are also MCP resources: listed a page at a time and read by artifact:// URI. */
export function registerArtifactResources(server: Server, session: TenantSession, services: Services): void {
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [
      { uriTemplate: `${SCHEME}{key}`, name: 'artifact', title: 'Artifact', description: 'An artifact of this tenant, by key.' },
    ],
  }));

  server.setRequestHandler(ListResourcesRequestSchema, async (request) => {
    try {
      const page = await services.artifacts.list(session, { ...(request.params?.cursor && { cursor: request.params.cursor }) });
      return {
        resources: page.artifacts.map((artifact) => ({
          uri: artifactUri(artifact.key),
          name: artifact.key,
          mimeType: artifact.content_type,
          size: artifact.size,
        })),
        ...(page.next_cursor && { nextCursor: page.next_cursor }),
      };
    } catch (error) {
      throw toMcpError(error);
    }
  });

  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    try {
      const { uri } = request.params;
      const { meta, body } = await services.artifacts.read(session, keyFromArtifactUri(uri));
      const text = textOf(meta.contentType, body);
      const content = text !== undefined ? { text } : { blob: body.toString('base64') };
      return { contents: [{ uri, mimeType: meta.contentType, ...content }] };
    } catch (error) {
      throw toMcpError(error);
    }
  });
}

