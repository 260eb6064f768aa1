import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { tableDefinition } from '../../src/drivers/aws/table-schema.js';
import { TABLE_ATTRIBUTES } from '../../src/drivers/aws/table-keys.js';

const tags = ['Ref', 'GetAtt', 'Sub'].map((name) => ({ tag: `!${name}`, resolve: (value: unknown) => ({ [name]: value }) }));
const template = parse(readFileSync(resolve(import.meta.dirname, '../../deploy/agent-mesh.cloudformation.yaml'), 'utf8'), { customTags: tags }) as {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};

describe('DEPLOYMENT.md template', () => {
  it('declares the table the drivers expect, with TTL on their ttl attribute', () => {
    const table = template.Resources.Table!.Properties;
    const expected = tableDefinition('agent-mesh-kv');
    expect(table.KeySchema).toEqual(expected.KeySchema);
    expect(new Set(table.AttributeDefinitions as unknown[])).toEqual(new Set(expected.AttributeDefinitions));
    expect(table.GlobalSecondaryIndexes).toEqual(expected.GlobalSecondaryIndexes);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: TABLE_ATTRIBUTES.ttl, Enabled: true });
  });

  it('grants no wildcard data actions and never Scan', () => {
    const statements = (template.Resources.InstancePolicy!.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement;
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.some((a) => a.endsWith(':*'))).toBe(false);
    expect(actions).not.toContain('dynamodb:Scan');
    const wildcardResources = statements.filter((s) => s.Resource === '*').flatMap((s) => s.Action);
    // Task results take a task token, not an ARN; ListTopics is account-wide.
    expect(wildcardResources.sort()).toEqual(['sns:ListTopics', 'states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess']);
  });
});
