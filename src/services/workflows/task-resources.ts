import type { DefinitionProblem } from '../../engine/asl/index.js';
import { INTEGRATION_NAME } from '../integrations/tool-names.js';

const MCP_RESOURCE = /^mcp:([^/]+)\/.+$/;
const AGENT_MESH = 'agent-mesh:';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What is wrong with a definition's Task resources, at any depth (Parallel branches, Map processors), in
 * the paths validateDefinition uses. A resource is `agent-mesh:<tool>`, naming a tool of this server, or
 * `mcp:<integration>/<tool>` (the integration may be registered after the workflow). Caught here, a typo
 * is an error of workflow_create, not a failed execution later.
 */
export function taskResourceProblems(definition: unknown, tools: ReadonlySet<string>): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const visitMachine = (machine: unknown, at: string): void => {
    if (!isObject(machine) || !isObject(machine.States)) return;
    for (const [name, state] of Object.entries(machine.States)) visitState(state, `${at}States.${name}`);
  };
  const visitState = (state: unknown, at: string): void => {
    if (!isObject(state)) return;
    if (state.Type === 'Task') {
      const resource = state.Resource;
      if (typeof resource === 'string' && resource.startsWith(AGENT_MESH)) {
        const tool = resource.slice(AGENT_MESH.length);
        if (!tools.has(tool)) problems.push({ path: `${at}.Resource`, message: `no agent-mesh tool "${tool}"` });
      } else if (typeof resource === 'string') {
        const integration = MCP_RESOURCE.exec(resource)?.[1];
        if (integration === undefined) {
          problems.push({ path: `${at}.Resource`, message: `${JSON.stringify(resource)} is not a supported resource (agent-mesh:<tool> or mcp:<integration>/<tool>)` });
        } else if (!INTEGRATION_NAME.test(integration)) {
          problems.push({ path: `${at}.Resource`, message: `"${integration}" cannot be an integration name (1-32 letters, digits, "-" or "_", not "__", starting with a letter or digit)` });
        }
      }
    }
    if (state.Type === 'Parallel' && Array.isArray(state.Branches)) state.Branches.forEach((branch, i) => visitMachine(branch, `${at}.Branches[${i}].`));
    if (state.Type === 'Map') for (const field of ['ItemProcessor', 'Iterator']) visitMachine(state[field], `${at}.${field}.`);
  };
  visitMachine(definition, '');
  return problems;
}
