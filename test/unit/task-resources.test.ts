import { describe, expect, it } from 'vitest';
import { taskResourceProblems } from '../../src/services/workflows/task-resources.js';

const withResource = (resource: string) => ({ StartAt: 'T', States: { T: { Type: 'Task', Resource: resource, End: true } } });

describe('Task resources of a workflow definition', () => {
  it('accepts agent-mesh tools of this server and mcp resources naming a possible integration', () => {
    for (const resource of ['agent-mesh:kv_get', 'mcp:github/create_issue', 'mcp:my_tools-2/x']) {
      expect(taskResourceProblems(withResource(resource), new Set(['kv_get']))).toEqual([]);
    }
  });

  it('refuses an mcp resource whose integration name no integration can have', () => {
    for (const name of ['bad__name', '-x', 'a'.repeat(33), 'has space']) {
      expect(taskResourceProblems(withResource(`mcp:${name}/tool`), new Set())).toEqual([
        { path: 'States.T.Resource', message: `"${name}" cannot be an integration name (1-32 letters, digits, "-" or "_", not "__", starting with a letter or digit)` },
      ]);
    }
    expect(taskResourceProblems(withResource('agent-mesh:nope'), new Set(['kv_get']))).toEqual([{ path: 'States.T.Resource', message: 'no agent-mesh tool "nope"' }]);
  });
});
