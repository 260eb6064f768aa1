import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { conflict, quotaExceeded } from '../../errors.js';
import type { AlertChannel } from '../../ports/alert-sink.js';
import type { AlertRecord, RuleRecord } from '../../ports/event-store.js';
import { parsePrincipal } from '../../tenancy/principal.js';
import type { TenantSession } from '../../tenancy/session.js';
import { DynamoRulesLock } from './dynamo-rules-lock.js';
import { queryItems, queryPages } from './query-pages.js';
import { KIND, tenantPk } from './table-keys.js';

type Item = Record<string, unknown>;

function toRule(item: Item): RuleRecord {
  const createdBy = parsePrincipal(item.createdBy);
  return {
    name: item.name as string,
    pattern: item.pattern as string,
    targets: JSON.parse(item.targets as string) as RuleRecord['targets'],
    description: item.description as string,
    enabled: item.enabled as boolean,
    createdAt: item.createdAt as number,
    updatedAt: item.updatedAt as number,
    ...(createdBy && { createdBy }),
  };
}

/** A tenant's event rules and alerts, RULE#/ALERT#<name> in its partition; every change runs under the rules lock. */
export class DynamoEventRules {
  private readonly lock: DynamoRulesLock;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {
    this.lock = new DynamoRulesLock(client, table);
  }

  async putRule(session: TenantSession, rule: RuleRecord): Promise<{ created: boolean }> {
    const pk = tenantPk(session);
    return this.lock.run(pk, async () => {
      const existing = await this.get(pk, KIND.rule + rule.name);
      if (!existing) await this.checkQuota(pk, KIND.rule, 'maxRules', 'rules', session.limits.maxRules);
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk,
            sk: KIND.rule + rule.name,
            name: rule.name,
            pattern: rule.pattern,
            targets: JSON.stringify(rule.targets),
            description: rule.description,
            enabled: rule.enabled,
            createdAt: (existing?.createdAt as number | undefined) ?? rule.createdAt,
            updatedAt: rule.updatedAt,
            // A map attribute {userId, permissions}; absent on rules stored before creators were recorded.
            ...(rule.createdBy && { createdBy: { userId: rule.createdBy.userId, permissions: [...rule.createdBy.permissions] } }),
          },
        }),
      );
      return { result: { created: !existing }, changed: true };
    });
  }

  async listRules(session: TenantSession): Promise<RuleRecord[]> {
    return (await this.listKind(tenantPk(session), KIND.rule)).map(toRule);
  }

  async deleteRule(session: TenantSession, name: string): Promise<boolean> {
    const pk = tenantPk(session);
    return this.lock.run(pk, async () => {
      const deleted = await this.delete(pk, KIND.rule + name);
      return { result: deleted, changed: deleted };
    });
  }

  async putAlert(session: TenantSession, alert: AlertRecord): Promise<{ created: boolean }> {
    const pk = tenantPk(session);
    return this.lock.run(pk, async () => {
      const existing = await this.get(pk, KIND.alert + alert.name);
      if (!existing) await this.checkQuota(pk, KIND.alert, 'maxAlerts', 'alerts', session.limits.maxAlerts);
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk,
            sk: KIND.alert + alert.name,
            name: alert.name,
            pattern: alert.pattern,
            channel: JSON.stringify(alert.channel),
            createdAt: (existing?.createdAt as number | undefined) ?? alert.createdAt,
          },
        }),
      );
      return { result: { created: !existing }, changed: true };
    });
  }

  async listAlerts(session: TenantSession): Promise<AlertRecord[]> {
    return (await this.listKind(tenantPk(session), KIND.alert)).map((item) => ({
      name: item.name as string,
      pattern: item.pattern as string,
      channel: JSON.parse(item.channel as string) as AlertChannel,
      createdAt: item.createdAt as number,
    }));
  }

  async deleteAlert(session: TenantSession, name: string): Promise<boolean> {
    const pk = tenantPk(session);
    return this.lock.run(pk, async () => {
      const users = (await this.listKind(pk, KIND.rule))
        .map(toRule)
        .filter((rule) => rule.targets.some((t) => t.type === 'alert' && t.name === name));
      if (users.length > 0) {
        throw conflict(`alert "${name}" is a target of rule ${users.map((r) => `"${r.name}"`).join(', ')}; delete or change the rule first`);
      }
      const deleted = await this.delete(pk, KIND.alert + name);
      return { result: deleted, changed: deleted };
    });
  }

  async rulesRevision(session: TenantSession): Promise<number> {
    return ((await this.get(tenantPk(session), KIND.rulesRevision))?.revision as number | undefined) ?? 0;
  }

  private async listKind(pk: string, kind: string): Promise<Item[]> {
    const items: Item[] = [];
    for await (const item of queryItems(this.client, this.kindQuery(pk, kind))) items.push(item);
    return items;
  }

  private async get(pk: string, sk: string): Promise<Item | undefined> {
    return (await this.client.send(new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }))).Item;
  }

  private async delete(pk: string, sk: string): Promise<boolean> {
    const result = await this.client.send(new DeleteCommand({ TableName: this.table, Key: { pk, sk }, ReturnValues: 'ALL_OLD' }));
    return result.Attributes !== undefined;
  }

  /** Counts with Select COUNT: bounded by the quota itself, and run under the rules lock, so exact. */
  private async checkQuota(pk: string, kind: string, limit: 'maxRules' | 'maxAlerts', noun: string, max: number): Promise<void> {
    let count = 0;
    for await (const page of queryPages(this.client, { ...this.kindQuery(pk, kind), Select: 'COUNT' })) count += page.Count ?? 0;
    if (count >= max) throw quotaExceeded(limit, max, `tenant has ${count} ${noun}, the limit ${limit} is ${max}`);
  }

  private kindQuery(pk: string, kind: string): QueryCommandInput {
    return {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :kind)',
      ExpressionAttributeValues: { ':pk': pk, ':kind': kind },
      ConsistentRead: true,
    };
  }
}
