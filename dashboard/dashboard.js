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

  /** Ends the session (DELETE); keepalive lets it finish while the page unloads. */
  end() {
    const sessionId = this.sessionId;
    this.sessionId = undefined;
    if (!sessionId) return;
    const headers = { authorization: `Bearer ${this.key}`, 'mcp-session-id': sessionId };
    fetch('/mcp', { method: 'DELETE', headers, keepalive: true }).catch(() => {});
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
      if (td.textContent) td.title = td.textContent;
    }
  }
}

function list(items, empty) {
  const ul = document.createElement('ul');
  ul.replaceChildren(...(items.length ? items : [empty]).map((item) => {
    const li = document.createElement('li');
    li.appendChild(text(item));
    li.title = item;
    return li;
  }));
  if (!items.length) ul.className = 'muted';
  return ul;
}

function status(value) {
  const span = document.createElement('span');
  span.className = `status-${value}`;
  span.appendChild(text(value));
  return span;
}

/** Bars of events per minute, with the y-axis maximum, the total, and the same in words for screen readers. */
function chart(buckets) {
  const element = (tag, className, content) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.appendChild(text(content));
    return node;
  };
  const total = buckets.reduce((sum, b) => sum + b.total, 0);
  const peak = buckets.reduce((best, b) => (b.total > (best?.total ?? 0) ? b : best), undefined);
  const max = peak?.total ?? 0;
  const span = `the last ${buckets.length} minute${buckets.length === 1 ? '' : 's'}`;
  const summary = element('p', 'chart-summary muted', `${total} event${total === 1 ? '' : 's'} in ${span} · at most ${max} in a minute`);
  const frame = element('div', 'chart-frame');
  frame.setAttribute('role', 'img');
  frame.setAttribute('aria-label', `Events per minute over ${span}: ${total} in total, at most ${max} in one minute${peak ? ` (${peak.start})` : ''}.`);
  const axis = element('div', 'chart-axis');
  axis.setAttribute('aria-hidden', 'true');
  axis.append(element('span', 'chart-max', max), element('span', '', 0));
  const plot = element('div', 'chart-plot');
  plot.append(...buckets.map((b) => {
    const bar = document.createElement('div');
    bar.style.height = `${(100 * b.total) / Math.max(1, max)}%`;
    bar.title = `${b.start}: ${b.total}`;
    return bar;
  }));
  frame.append(axis, plot);
  return [summary, frame];
}

const PANELS = ['health', 'limits', 'chart', 'workflows', 'kv', 'artifacts', 'integrations'];

/** Fills every panel; a panel whose tool this key may not call says so. An invalid key is thrown (AuthError). */
async function refresh(state) {
  const { mesh } = state;
  const show = (panel, ...nodes) => {
    if (state === current) $(panel).replaceChildren(...nodes);
  };
  const note = (className, message) => {
    const p = document.createElement('p');
    p.className = className;
    p.appendChild(text(message));
    return p;
  };
  let invalid;
  const guard = async (panel, work) => {
    try {
      const done = await work();
      if (done === undefined) show(panel, note('muted not-permitted', 'Not permitted for this key.'));
    } catch (error) {
      if (error instanceof AuthError) invalid = error;
      else show(panel, note('error', `Error: ${error.message}`));
    }
  };
  const health = mesh.call('events_health_check');
  health.catch(() => {});
  await Promise.all([
    guard('health', async () => {
      const h = await health;
      if (!h) return undefined;
      show('health', text(`${h.status} · store ${h.store.status} (${h.store.latency_ms} ms) · ${h.rules.total} rules · ${h.alerts} alerts · backlog ${h.deliveries.backlog} · up ${h.uptime_seconds}s · v${h.version}`));
      return true;
    }),
    guard('limits', async () => {
      const h = await health;
      if (!h) return undefined;
      const table = document.createElement('table');
      rows(table, ['service', 'tokens', 'capacity', 'per second'], h.rate_limits, (b) => [b.service, b.tokens, b.capacity, b.refill_per_second]);
      show('limits', table);
      return true;
    }),
    guard('chart', async () => {
      const stats = await mesh.call('events_analytics', { bucket: 'minute', group_by: 'detail_type' });
      if (!stats) return undefined;
      show('chart', ...chart(stats.buckets));
      return true;
    }),
    guard('workflows', async () => {
      const listed = await mesh.call('workflow_list', { limit: 20 });
      if (!listed) return undefined;
      const table = document.createElement('table');
      rows(table, ['execution', 'workflow', 'status', 'state', 'started'], listed.executions, (e) => [e.execution_name, e.workflow, status(e.status), e.current_state, e.started_at], 'no executions yet');
      show('workflows', table);
      return true;
    }),
    guard('kv', async () => {
      const keys = await mesh.call('kv_list', { limit: 50 });
      if (!keys) return undefined;
      show('kv', list(keys.keys.map((k) => `${k.key} (v${k.version})`), 'no keys'));
      return true;
    }),
    guard('artifacts', async () => {
      const artifacts = await mesh.call('artifacts_list', { limit: 50 });
      if (!artifacts) return undefined;
      show('artifacts', list(artifacts.artifacts.map((a) => `${a.key} (${a.size} B, ${a.content_type})`), 'no artifacts'));
      return true;
    }),
    guard('integrations', async () => {
      const integrations = await mesh.call('integration_list');
      if (!integrations) return undefined;
      const table = document.createElement('table');
      rows(table, ['name', 'transport', 'status', 'tools', 'last error'], integrations.integrations, (i) => [i.name, i.transport, i.status, i.tool_count, i.last_error], 'no integrations registered');
      show('integrations', table);
      return true;
    }),
  ]);
  if (invalid) throw invalid;
}

/** The newest live entries, at most this many. */
const LIVE_MAX = 200;

function live(message) {
  const ol = $('live');
  const li = document.createElement('li');
  li.appendChild(text(message));
  li.title = message;
  ol.prepend(li);
  while (ol.childElementCount > LIVE_MAX) ol.lastElementChild.remove();
}

/** The signed-in page: one key, one MCP session, one feed. `current` is undefined when signed out. */
let current;

async function update(state) {
  if (state !== current) return;
  try {
    await refresh(state);
  } catch (error) {
    if (error instanceof AuthError) signOut(error.message, { invalid: true });
  }
}

function soon(state) {
  clearTimeout(state.pending);
  state.pending = setTimeout(() => void update(state), 300);
}

function feed(state, again = false) {
  if (state !== current) return;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?access_token=${encodeURIComponent(state.mesh.key)}`;
  const socket = new WebSocket(url);
  state.socket = socket;
  let opened = false;
  socket.onopen = () => {
    opened = true;
    $('feed-state').textContent = 'live';
    // Back after a drop (e.g. a server restart): what happened meanwhile is only in the panels.
    if (again) soon(state);
  };
  socket.onclose = (event) => {
    if (state !== current) return;
    // The server closes the feed of a revoked key with 4401 (or 1008, policy violation) and says why.
    if (event.code === 4401 || event.code === 1008) {
      signOut(event.reason ? `Signed out: ${event.reason}.` : 'This key is not valid (or was revoked).', { invalid: true });
      return;
    }
    $('feed-state').textContent = 'reconnecting…';
    const retry = () => {
      if (state === current) state.reconnect = setTimeout(() => feed(state, true), 2000);
    };
    if (opened) return retry();
    // Refused before it opened: a browser cannot see why, so ask /mcp whether the key is still good.
    state.mesh.request('ping').then(retry, (error) => {
      if (error instanceof AuthError) {
        if (state === current) signOut(error.message, { invalid: true });
      } else retry();
    });
  };
  socket.onmessage = (message) => {
    if (state !== current) return;
    const data = JSON.parse(message.data);
    if (data.type === 'hello') {
      $('who').textContent = `${data.user} · tenant ${data.tenant}`;
      $('who').title = `signed in as user ${data.user} of tenant ${data.tenant}`;
    } else if (data.type === 'event') {
      live(`${data.event.time} ${data.event.source} ${data.event['detail-type']} ${JSON.stringify(data.event.detail).slice(0, 160)}`);
      soon(state);
    } else if (data.type === 'workflow') {
      soon(state);
    } else if (data.type === 'rate_limited') {
      live(`rate limited: ${data.service} (${data.user}), retry after ${data.retry_after_ms} ms`);
    }
  };
}

async function signIn(key) {
  const mesh = new Mesh(key);
  await mesh.connect();
  if (current) signOut();
  const state = { mesh };
  current = state;
  sessionStorage.setItem(KEY, key);
  $('sign-in').hidden = true;
  $('panels').hidden = false;
  $('sign-out').hidden = false;
  $('who').textContent = 'signed in';
  $('api-key').value = '';
  state.timer = setInterval(() => void update(state), 15_000);
  feed(state);
  await update(state);
}

/** Back to the sign-in form, with a message when the key stopped working; the MCP session is closed (DELETE). */
function signOut(message = '', { invalid = false } = {}) {
  const state = current;
  current = undefined;
  if (state) {
    clearInterval(state.timer);
    clearTimeout(state.pending);
    clearTimeout(state.reconnect);
    state.socket?.close(1000);
    if (!invalid) state.mesh.end();
  }
  sessionStorage.removeItem(KEY);
  for (const panel of PANELS) $(panel).replaceChildren();
  $('live').replaceChildren();
  $('feed-state').textContent = '';
  $('who').textContent = '';
  $('who').title = '';
  $('panels').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message;
}

$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  $('sign-in-error').textContent = '';
  signIn($('api-key').value.trim()).catch((error) => ($('sign-in-error').textContent = error.message));
});
$('sign-out').addEventListener('click', () => signOut());
// Leaving or reloading the page ends its MCP session; a page restored from the back-forward cache opens a new one.
addEventListener('pagehide', () => current?.mesh.end());
const saved = sessionStorage.getItem(KEY);
if (saved) signIn(saved).catch((error) => signOut(error instanceof AuthError ? error.message : ''));
