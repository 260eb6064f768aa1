import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
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
    const csp = (await fetch(server.url.replace(/\/mcp$/, '/'))).headers.get('content-security-policy') ?? '';
    cspAllowsDataImages = !csp || /img-src[^;]*data:/.test(csp);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  /** A new page that records console errors and uncaught exceptions. */
  const newPage = async (viewport = { width: 1280, height: 1000 }): Promise<{ page: Page; errors: string[] }> => {
    const page = await browser.newPage({ viewport });
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      // The favicon is an inline data: URI; until the server's CSP allows data: images (img-src), Chromium
      // reports it as blocked. That one message is let through only while the served CSP lacks it.
      if (!cspAllowsDataImages && /^Loading the image 'data:image\/svg\+xml.*Content Security Policy/.test(message.text())) return;
      errors.push(`${message.text()} ${message.location().url}`);
    });
    page.on('pageerror', (error) => errors.push(String(error)));
    return { page, errors };
  };
  let cspAllowsDataImages = false;
  const signIn = async (page: Page, token: string) => {
    await page.goto(server.url.replace(/\/mcp$/, '/'));
    await page.fill('#api-key', token);
    await page.click('button[type=submit]');
    await page.waitForSelector('#panels:not([hidden])');
    await expect.poll(() => page.textContent('#feed-state')).toBe('live');
  };
  const openSessions = async () => {
    const text = await (await fetch(server.url.replace(/\/mcp$/, '/metrics'), { headers: { authorization: `Bearer ${key}` } })).text();
    return Number(/^agent_mesh_open_sessions (\d+)/m.exec(text)?.[1]);
  };

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    data.cleanup();
  });

  it('signs in, shows an event sent through /mcp live, and a workflow that runs to the end', async () => {
    const { page, errors } = await newPage();
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
    // The refused key's 401, as the browser logs it, is the one console error expected.
    errors.splice(0, errors.length, ...errors.filter((error) => !/status of 401 .*\/mcp$/.test(error)));

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
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows who is signed in, keeps one MCP session per page and ends it on reload and sign-out', async () => {
    const { page, errors } = await newPage();
    const before = await openSessions();
    expect(Number.isInteger(before), 'the open-sessions gauge is read from /metrics').toBe(true);
    await signIn(page, key);
    await expect.poll(() => page.textContent('#who')).toMatch(/dana.*demo/);
    await expect.poll(() => page.textContent('#health')).toMatch(/^ok · store ok/);
    expect(await openSessions()).toBe(before + 1);
    // Refreshes reuse the session.
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 500)));
    expect(await openSessions()).toBe(before + 1);

    await page.reload();
    await page.waitForSelector('#panels:not([hidden])');
    await expect.poll(() => page.textContent('#health')).toMatch(/^ok · store ok/);
    await expect.poll(() => openSessions()).toBe(before + 1);

    await page.click('#sign-out');
    await expect.poll(() => openSessions()).toBe(before);
    expect(await page.isVisible('#sign-in-form')).toBe(true);
    expect(await page.isVisible('#panels')).toBe(false);
    expect(await page.textContent('#who')).toBe('');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('keeps the newest 200 live events, fits long names on a phone, and sums up the chart', async () => {
    const { page, errors } = await newPage({ width: 375, height: 800 });
    await signIn(page, key);
    const longKey = `reports/${'x'.repeat(292)}`;
    const client = await httpClient(server.url, key);
    try {
      await client.callTool({ name: 'artifacts_put', arguments: { key: longKey, content: 'hello' } });
      await client.callTool({ name: 'kv_set', arguments: { key: longKey, value: 1 } });
      await client.callTool({ name: 'workflow_start', arguments: { name: 'greet', execution_name: `long-${'y'.repeat(70)}` } });
      for (let i = 0; i < 210; i++) await client.callTool({ name: 'events_send', arguments: { source: 'load', detail_type: 'Burst', detail: { i } } });
    } finally {
      await client.close();
    }
    await expect.poll(() => page.textContent('#live'), { timeout: 15_000 }).toContain('{"i":209,');
    expect(await page.locator('#live li').count()).toBe(200);
    expect(await page.locator('#live li').first().textContent()).toContain('{"i":209,');

    await expect.poll(() => page.textContent('#artifacts'), { timeout: 10_000 }).toContain(longKey);
    await expect.poll(() => page.textContent('#workflows'), { timeout: 10_000 }).toContain('long-yyy');
    expect(await page.getAttribute('#artifacts li', 'title')).toContain(longKey);
    // Nothing is wider than the phone, nor than its card; the workflow table scrolls inside its card.
    // Runs in the page; the test's TypeScript has no DOM types, so the page's globals are typed here.
    type Box = { scrollWidth: number; clientWidth: number; id: string };
    const overflow = await page.evaluate(() => {
      const { document, innerWidth } = globalThis as unknown as { document: { documentElement: Box; querySelectorAll(selector: string): Iterable<Box> }; innerWidth: number };
      return {
        page: document.documentElement.scrollWidth - innerWidth,
        cards: [...document.querySelectorAll('.card')].filter((card) => card.scrollWidth > card.clientWidth).map((card) => card.id),
      };
    });
    expect(overflow).toEqual({ page: 0, cards: [] });

    await expect.poll(() => page.getAttribute('#chart [role=img]', 'aria-label')).toMatch(/Events per minute over the last \d+ minutes: \d+ in total, at most \d+ in one minute/);
    const max = Number(await page.textContent('#chart .chart-max'));
    expect(max).toBeGreaterThanOrEqual(1);
    expect(await page.textContent('#chart .chart-summary')).toMatch(new RegExp(`^\\d+ events in the last \\d+ minutes · at most ${max} in a minute$`));
    await page.screenshot({ path: resolve(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says "Not permitted for this key." in every panel the key may not use, rate limits included', async () => {
    const kvOnly = admin(env, 'keys', 'create', '--tenant', 'demo', '--user', 'kim', '--permissions', 'kv:*');
    const { page, errors } = await newPage();
    await signIn(page, kvOnly);
    await expect.poll(() => page.textContent('#kv')).toContain('dashboard/visible');
    for (const panel of ['health', 'limits', 'chart', 'workflows', 'artifacts', 'integrations']) {
      expect(await page.textContent(`#${panel}`), panel).toBe('Not permitted for this key.');
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  it('sends a user whose key is revoked back to the sign-in form, saying why', async () => {
    const revoked = admin(env, 'keys', 'create', '--tenant', 'demo', '--user', 'erin');
    const { page } = await newPage();
    await signIn(page, revoked);
    await expect.poll(() => page.textContent('#who')).toMatch(/erin.*demo/);
    admin(env, 'keys', 'revoke', revoked.split('_')[1]!);
    // The next refresh (here set off by an event in the feed) finds the key refused.
    const client = await httpClient(server.url, key);
    try {
      await client.callTool({ name: 'events_send', arguments: { source: 'shop.web', detail_type: 'AfterRevoke', detail: {} } });
    } finally {
      await client.close();
    }
    await expect.poll(() => page.isVisible('#sign-in-form'), { timeout: 10_000 }).toBe(true);
    expect(await page.textContent('#sign-in-error')).toMatch(/not valid|revoked/i);
    expect(await page.isVisible('#panels')).toBe(false);
    expect(await page.textContent('#who')).toBe('');
    await page.close();
  });

  it('signs out when the server closes the feed of a revoked key, with the reason it gives', async () => {
    const revoked = admin(env, 'keys', 'create', '--tenant', 'demo', '--user', 'finn');
    const { page } = await newPage();
    await signIn(page, revoked);
    admin(env, 'keys', 'revoke', revoked.split('_')[1]!);
    // No call from the page: the feed's own re-check (every 5 s) closes it with 1008 and a reason.
    await expect.poll(() => page.textContent('#sign-in-error'), { timeout: 12_000 }).toBe('Signed out: credential revoked.');
    expect(await page.isVisible('#panels')).toBe(false);
    await page.close();
  });

  it('recovers without a reload when the server restarts under the open page (a new MCP session)', async () => {
    const { page } = await newPage();
    await signIn(page, key);
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
