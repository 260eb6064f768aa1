// The agent-mesh dashboard: plain ES modules, no build step. It speaks MCP over Streamable HTTP to /mcp
// with the user's API key and listens to the live feed at /ws.

const $ = (id) => document.getElementById(id);
const text = (value) => document.createTextNode(String(value));
const KEY = 'agent-mesh-key';

class AuthError extends Error {}

/**
 * One MCP session per page over Streamable HTTP. A session the server no longer knows (404, e.g. after a
 * restart) is dropped and opened again, and the request retried once.
 */
class Mesh {
  constructor(key) {
    this.key = key;
    this.sessionId = undefined;
    this.opening = undefined;
    this.nextId = 1;
    this.tools = new Set();
  }

  headers() {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${this.key}` };
    if (this.sessionId) headers['mcp-session-id'] = this.sessionId;
    return headers;
  }

  /** One POST with the current session id; the JSON-RPC result for a request, undefined for a notification. */
  async send(message) {
    const response = await fetch('/mcp', { method: 'POST', headers: this.headers(), body: JSON.stringify(message) });
    if (response.status === 401) throw new AuthError('This key is not valid (or was revoked).');
    if (!response.ok && response.status !== 202) {
      const error = new Error(`HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    this.sessionId = response.headers.get('mcp-session-id') ?? this.sessionId;
    if (!('id' in message)) return undefined;
    const body = await response.text();
    const json = response.headers.get('content-type')?.includes('text/event-stream')
      ? body.split('\n').filter((line) => line.startsWith('data:')).map((line) => JSON.parse(line.slice(5))).find((m) => m.id === message.id)
      : JSON.parse(body);
    if (json?.error) throw new Error(json.error.message);
    return json?.result;
  }

  /** Opens a session (once, however many requests wait for it). */
  connect() {
    this.opening ??= (async () => {
      this.sessionId = undefined;
      const init = await this.send({ jsonrpc: '2.0', id: this.nextId++, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'agent-mesh-dashboard', version: '1' } } });
      await this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      const tools = await this.send({ jsonrpc: '2.0', id: this.nextId++, method: 'tools/list' });
      this.tools = new Set(tools.tools.map((tool) => tool.name));
      return init;
    })().finally(() => (this.opening = undefined));
    return this.opening;
  }

  /** A request within the session; a session the server lost is opened again and the request sent once more. */
  async request(method, params, retried = false) {
    if (this.opening) await this.opening;
    if (!this.sessionId) await this.connect();
    const sent = this.sessionId;
    try {
      return await this.send({ jsonrpc: '2.0', id: this.nextId++, method, ...(params ? { params } : {}) });
    } catch (error) {
      if (error.status !== 404 || retried) throw error;
      if (this.sessionId === sent) this.sessionId = undefined;
      return this.request(method, params, true);
    }
  }

  /** A tool's structuredContent, or undefined when this key may not call it. */
  async call(name, args = {}) {
    if (!this.tools.has(name)) return undefined;
    const result = await this.request('tools/call', { name, arguments: args });
    if (result.isError) throw new Error(result.content?.[0]?.text ?? 'tool error');
    return result.structuredContent;
  }
}

function rows(table, header, items, cells, empty) {
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of header) head.appendChild(document.createElement('th')).appendChild(text(h));
  if (items.length === 0 && empty) {
    const td = table.insertRow().insertCell();
    td.colSpan = header.length;
    td.className = 'muted';
    td.appendChild(text(empty));
  }
  for (const item of items) {
    const row = table.insertRow();
    for (const cell of cells(item)) {
      const td = row.insertCell();
      if (cell instanceof Node) td.appendChild(cell);
      else td.appendChild(text(cell ?? ''));
    }
  }
}

function list(element, items, empty) {
  element.replaceChildren(...(items.length ? items : [empty]).map((item) => {
    const li = document.createElement('li');
    li.appendChild(text(item));
    return li;
  }));
}

function status(value) {
  const span = document.createElement('span');
  span.className = `status-${value}`;
  span.appendChild(text(value));
  return span;
}

async function refresh(mesh) {
  const guard = async (panel, work) => {
    try {
      const done = await work();
      if (done === undefined) $(panel).replaceChildren(text('Not permitted for this key.'));
    } catch (error) {
      $(panel).replaceChildren(text(`Error: ${error.message}`));
    }
  };
  await Promise.all([
    guard('health', async () => {
      const health = await mesh.call('events_health_check');
      if (!health) return undefined;
      $('health').replaceChildren(text(`${health.status} · store ${health.store.status} (${health.store.latency_ms} ms) · ${health.rules.total} rules · ${health.alerts} alerts · backlog ${health.deliveries.backlog} · up ${health.uptime_seconds}s · v${health.version}`));
      const table = document.createElement('table');
      rows(table, ['service', 'tokens', 'capacity', 'per second'], health.rate_limits, (b) => [b.service, b.tokens, b.capacity, b.refill_per_second]);
      $('limits').replaceChildren(table);
      return true;
    }),
    guard('chart', async () => {
      const stats = await mesh.call('events_analytics', { bucket: 'minute', group_by: 'detail_type' });
      if (!stats) return undefined;
      const max = Math.max(1, ...stats.buckets.map((b) => b.total));
      $('chart').replaceChildren(...stats.buckets.map((b) => {
        const bar = document.createElement('div');
        bar.style.height = `${(100 * b.total) / max}%`;
        bar.title = `${b.start}: ${b.total}`;
        return bar;
      }));
      return true;
    }),
    guard('workflows', async () => {
      const listed = await mesh.call('workflow_list', { limit: 20 });
      if (!listed) return undefined;
      rows($('workflows'), ['execution', 'workflow', 'status', 'state', 'started'], listed.executions, (e) => [e.execution_name, e.workflow, status(e.status), e.current_state, e.started_at], 'no executions yet');
      return true;
    }),
    guard('kv', async () => {
      const keys = await mesh.call('kv_list', { limit: 50 });
      if (!keys) return undefined;
      list($('kv'), keys.keys.map((k) => `${k.key} (v${k.version})`), 'no keys');
      return true;
    }),
    guard('artifacts', async () => {
      const artifacts = await mesh.call('artifacts_list', { limit: 50 });
      if (!artifacts) return undefined;
      list($('artifacts'), artifacts.artifacts.map((a) => `${a.key} (${a.size} B, ${a.content_type})`), 'no artifacts');
      return true;
    }),
    guard('integrations', async () => {
      const integrations = await mesh.call('integration_list');
      if (!integrations) return undefined;
      rows($('integrations'), ['name', 'transport', 'status', 'tools', 'last error'], integrations.integrations, (i) => [i.name, i.transport, i.status, i.tool_count, i.last_error], 'no integrations registered');
      return true;
    }),
  ]);
}

function feed(mesh, again = false) {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?access_token=${encodeURIComponent(mesh.key)}`;
  const socket = new WebSocket(url);
  let pending;
  const soon = () => {
    clearTimeout(pending);
    pending = setTimeout(() => void refresh(mesh), 300);
  };
  socket.onopen = () => {
    $('feed-state').textContent = 'live';
    // Back after a drop (e.g. a server restart): what happened meanwhile is only in the panels.
    if (again) soon();
  };
  socket.onclose = () => {
    $('feed-state').textContent = 'reconnecting…';
    setTimeout(() => feed(mesh, true), 2000);
  };
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.type === 'event') {
      const li = document.createElement('li');
      li.appendChild(text(`${data.event.time} ${data.event.source} ${data.event['detail-type']} ${JSON.stringify(data.event.detail).slice(0, 160)}`));
      $('live').prepend(li);
      soon();
    } else if (data.type === 'workflow') {
      soon();
    } else if (data.type === 'rate_limited') {
      const li = document.createElement('li');
      li.appendChild(text(`rate limited: ${data.service} (${data.user}), retry after ${data.retry_after_ms} ms`));
      $('live').prepend(li);
    }
  };
}

async function signIn(key) {
  const mesh = new Mesh(key);
  await mesh.connect();
  sessionStorage.setItem(KEY, key);
  $('sign-in').hidden = true;
  $('panels').hidden = false;
  $('sign-out').hidden = false;
  $('who').textContent = 'signed in';
  await refresh(mesh);
  feed(mesh);
  setInterval(() => void refresh(mesh), 15_000);
}

$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  $('sign-in-error').textContent = '';
  signIn($('api-key').value.trim()).catch((error) => ($('sign-in-error').textContent = error.message));
});
$('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  location.reload();
});
const saved = sessionStorage.getItem(KEY);
if (saved) signIn(saved).catch(() => sessionStorage.removeItem(KEY));
