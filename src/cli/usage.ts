/** The commands' usage lines, apart from the commands so that `--help` loads none of them. */
export const SERVE_USAGE = `agent-mesh serve [--host 127.0.0.1] [--port 7878] [--auth apikey|none] [--stateless] [--allowed-hosts h:p,…] [--max-sessions-per-credential 100] [--session-idle-minutes 30] [--trust-proxy] [--shutdown-grace-seconds 10]`;

export const ADMIN_USAGE = `agent-mesh tenants create <id> | tenants list
agent-mesh keys create --tenant T --user U [--permissions kv:*,events:read] | keys list [--tenant T] | keys revoke <key-id>`;
