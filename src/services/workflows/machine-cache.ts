import { compileDefinition, type Machine } from '../../engine/asl/index.js';
import { notFound } from '../../errors.js';
import type { WorkflowStore } from '../../ports/workflow-store.js';
import type { TenantSession } from '../../tenancy/session.js';

const MAX_MACHINES = 500;

/** Compiled state machines by (tenant, workflow, version): compiling is slow, versions never change. */
export class MachineCache {
  private readonly machines = new Map<string, Machine>();

  constructor(private readonly store: WorkflowStore) {}

  async get(session: TenantSession, workflow: string, version: number): Promise<Machine> {
    const key = `${session.tenantId}\u0000${workflow}\u0000${version}`;
    let machine = this.machines.get(key);
    if (!machine) {
      const stored = await this.store.getWorkflow(session, workflow, version);
      if (!stored) throw notFound(`workflow "${workflow}" version ${version} not found`);
      machine = compileDefinition(JSON.parse(stored.definition));
      if (this.machines.size >= MAX_MACHINES) this.machines.delete(this.machines.keys().next().value!);
      this.machines.set(key, machine);
    }
    return machine;
  }
}
