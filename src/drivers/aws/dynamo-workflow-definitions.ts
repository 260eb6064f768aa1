import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MeshError } from '../../errors.js';
import type { WorkflowVersion } from '../../ports/workflow-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { keys, namesIn, packText, rethrow, toWorkflow, type WorkflowItem } from './dynamo-workflow-items.js';
import { isConditionFailure } from './query-pages.js';
import { KIND, tenantPk } from './table-keys.js';

/** Rounds of read-then-conditional-put before putWorkflow gives up to concurrent writers. */
const MAX_ATTEMPTS = 20;
const WORKFLOW_PAGE = 10;

/** The versions of each workflow definition: one item each, numbered by a conditional put of the next number. */
export class DynamoWorkflowDefinitions {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async putWorkflow(session: TenantSession, name: string, definition: string, description: string, now: number): Promise<number> {
    const pk = tenantPk(session);
    const stored = await packText(definition);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const version = ((await this.latestWorkflow(pk, name))?.version ?? 0) + 1;
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.table,
            Item: { pk, sk: keys.workflow(name, version), name, version, definition: stored, description, createdAt: now },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: namesIn('#pk'),
          }),
        );
        return version;
      } catch (error) {
        if (!isConditionFailure(error)) rethrow(error, 'definition');
      }
    }
    throw new MeshError('unavailable', `workflow "${name}" is being changed concurrently; retry`, {}, { retryable: true });
  }

  async getWorkflow(session: TenantSession, name: string, version?: number): Promise<WorkflowVersion | undefined> {
    const pk = tenantPk(session);
    if (version === undefined) {
      const latest = await this.latestWorkflow(pk, name);
      return latest && toWorkflow(latest);
    }
    const result = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk, sk: keys.workflow(name, version) }, ConsistentRead: true }));
    return result.Item && toWorkflow(result.Item as WorkflowItem);
  }

  /**
   * The latest version of each workflow, by name. Reads newest first, and after each page restarts below
   * the last name seen, so the older versions of a name are mostly skipped rather than all read.
   */
  async listWorkflows(session: TenantSession): Promise<WorkflowVersion[]> {
    const pk = tenantPk(session);
    const latest: WorkflowItem[] = [];
    let below: string | undefined;
    for (;;) {
      const condition = below === undefined ? '#pk = :pk AND begins_with(#sk, :kind)' : '#pk = :pk AND #sk BETWEEN :kind AND :below';
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: condition,
          ExpressionAttributeNames: namesIn(condition),
          ExpressionAttributeValues: { ':pk': pk, ':kind': KIND.workflow, ...(below !== undefined && { ':below': below }) },
          ScanIndexForward: false,
          Limit: WORKFLOW_PAGE,
          ConsistentRead: true,
        }),
      );
      const items = (page.Items ?? []) as WorkflowItem[];
      for (const item of items) if (latest[latest.length - 1]?.name !== item.name) latest.push(item);
      if (!page.LastEvaluatedKey || items.length === 0) break;
      // No key equals "WF#<name>#" itself (versions follow it), so BETWEEN up to it excludes that name.
      below = keys.workflowsOf(items[items.length - 1]!.name);
    }
    return Promise.all(latest.reverse().map(toWorkflow));
  }

  private async latestWorkflow(pk: string, name: string): Promise<WorkflowItem | undefined> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: namesIn('#pk #sk'),
        ExpressionAttributeValues: { ':pk': pk, ':prefix': keys.workflowsOf(name) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return page.Items?.[0] as WorkflowItem | undefined;
  }
}
