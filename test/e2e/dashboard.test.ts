import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, httpClient, startHttpServerProcess, type HttpServerProcess } from '../helpers/http-server-process.js';
import { tempDataDir } from '../helpers/server-process.js';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

/** The dashboard in a real browser: Debian's Chromium driven by playwright-core (installed by .ci/run). */
describe('dashboard in Chromium', () => {
  const data = tempDataDir();
  const env = { AGENT_MESH_DATA_DIR: data.dir };
  let server: HttpServerProcess;
  let browser: Browser;
  let key: string;

  beforeAll(async () => {
    admin(env, 'tenants', 'create', 'demo');
    key = admin(env, 'keys', 'create', '--tenant', 'demo', '--user', 'dana');
    server = await startHttpServerProcess(env);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    data.cleanup();
  });

  it('signs in, shows an event sent through /mcp live, and a workflow that runs to the end', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const base = server.url.replace(/\/mcp$/, '');
    await page.goto(`${base}/`);
    // Before sign-in only the form shows: no panel, no sign-out button.
    expect(await page.isVisible('#sign-in-form')).toBe(true);
    expect(await page.isVisible('#panels')).toBe(false);
    expect(await page.isVisible('#health-panel')).toBe(false);
    expect(await page.isVisible('#sign-out')).toBe(false);
    await page.fill('#api-key', 'amk_0000000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#sign-in-error')).toMatch(/not valid/);

    await page.fill('#api-key', key);
    await page.click('button[type=submit]');
    await page.waitForSelector('#panels:not([hidden])');
    await expect.poll(() => page.textContent('#feed-state')).toBe('live');
    await expect.poll(() => page.textContent('#health')).toMatch(/^ok · store ok/);
    // Empty tables say so rather than showing a bare header.
    await expect.poll(() => page.textContent('#integrations')).toContain('no integrations registered');
    await expect.poll(() => page.textContent('#workflows')).toContain('no executions yet');

    const client = await httpClient(server.url, key);
    try {
      await client.callTool({ name: 'events_send', arguments: { source: 'shop.web', detail_type: 'OrderPlaced', detail: { order: 'o-4711' } } });
      await expect.poll(() => page.textContent('#live'), { timeout: 10_000 }).toContain('OrderPlaced');
      await client.callTool({ name: 'kv_set', arguments: { key: 'dashboard/visible', value: true } });
      await client.callTool({ name: 'workflow_create', arguments: { name: 'greet', definition: { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 1, Next: 'P' }, P: { Type: 'Pass', End: true } } } } });
      await client.callTool({ name: 'workflow_start', arguments: { name: 'greet', execution_name: 'from-test' } });
      await expect.poll(() => page.textContent('#workflows'), { timeout: 10_000 }).toMatch(/from-test.*greet.*RUNNING|from-test.*greet.*SUCCEEDED/);
      await expect.poll(() => page.textContent('#workflows'), { timeout: 15_000 }).toMatch(/from-test.*greet.*SUCCEEDED/);
      await expect.poll(() => page.textContent('#kv'), { timeout: 10_000 }).toContain('dashboard/visible');
      await expect.poll(() => page.locator('#chart div').count()).toBeGreaterThan(10);
    } finally {
      await client.close();
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: resolve(ARTIFACTS, 'dashboard.png'), fullPage: true });
    await page.close();
  });

  it('recovers without a reload when the server restarts under the open page (a new MCP session)', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const base = server.url.replace(/\/mcp$/, '');
    await page.goto(`${base}/`);
    await page.fill('#api-key', key);
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#feed-state')).toBe('live');
    await expect.poll(() => page.textContent('#health')).toMatch(/^ok · store ok/);

    const port = new URL(server.url).port;
    await server.stop();
    await expect.poll(() => page.textContent('#feed-state')).toBe('reconnecting…');
    server = await startHttpServerProcess(env, ['--port', port]);
    await expect.poll(() => page.textContent('#feed-state'), { timeout: 10_000 }).toBe('live');

    // The page still holds the old session id: the server answers 404 until the dashboard opens a new one.
    const client = await httpClient(server.url, key);
    try {
      await client.callTool({ name: 'kv_set', arguments: { key: 'after/restart', value: 1 } });
      await client.callTool({ name: 'events_send', arguments: { source: 'shop.web', detail_type: 'AfterRestart', detail: {} } });
      await expect.poll(() => page.textContent('#live'), { timeout: 10_000 }).toContain('AfterRestart');
      await expect.poll(() => page.textContent('#kv'), { timeout: 10_000 }).toContain('after/restart');
      await expect.poll(() => page.textContent('#health')).toMatch(/^ok · store ok/);
      await expect.poll(() => page.textContent('#panels')).not.toMatch(/Error/);
    } finally {
      await client.close();
    }
    await page.close();
  });
});
