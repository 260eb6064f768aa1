import type { Tool } from '../tool.js';
import { adminTools } from './admin.js';
import { artifactTools } from './artifacts.js';
import { eventTools } from './events.js';
import { integrationTools } from './integrations.js';
import { kvTools } from './kv.js';
import { workflowTools } from './workflows.js';

/** Every tool agent-mesh has, in the order clients see them. New groups add their array here. */
export const ALL_TOOLS: readonly Tool[] = [...kvTools, ...artifactTools, ...eventTools, ...workflowTools, ...integrationTools, ...adminTools];
