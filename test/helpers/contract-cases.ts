import { it } from 'vitest';
import type { TenantSession } from '../../src/tenancy/session.js';
import { testSession } from './sessions.js';

/**
 * How every contract suite runs a case: a fresh fixture from the driver's `open`, two tenants to try to
 * cross, and the fixture closed whatever happens.
 */
export function contractCases<F extends { close(): Promise<void> }>(open: () => Promise<F>, timeoutMs?: number) {
  return (name: string, body: (fixture: F, a: TenantSession, b: TenantSession) => Promise<void>): void => {
    it(
      name,
      async () => {
        const fixture = await open();
        try {
          await body(fixture, testSession('tenant-a'), testSession('tenant-b'));
        } finally {
          await fixture.close();
        }
      },
      timeoutMs,
    );
  };
}
