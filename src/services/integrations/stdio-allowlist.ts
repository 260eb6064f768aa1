import type { StdioCommandRule } from '../../config/file-schema.js';
import { MeshError, invalidArgument } from '../../errors.js';

/**
 * Variables that make a child run code other than the allowed command (preloads, interpreter options,
 * search paths) or change which command PATH finds. A tenant may set other variables for its integration.
 */
const FORBIDDEN_ENV = [
  /^PATH$/,
  /^NODE_OPTIONS$/,
  /^NODE_PATH$/,
  /^NODE_REPL_EXTERNAL_MODULE$/,
  /^LD_/,
  /^DYLD_/,
  /^PYTHON/,
  /^PERL5?/,
  /^RUBY/,
  /^JAVA_TOOL_OPTIONS$/,
  /^_JAVA_OPTIONS$/,
  /^JDK_JAVA_OPTIONS$/,
  /^BASH_ENV$/,
  /^ENV$/,
  /^SHELLOPTS$/,
  /^PS4$/,
  /^IFS$/,
  /^npm_config_/i,
  /^NPM_CONFIG_/,
  /^GIT_/,
  /^HOME$/,
];

/** A tenant may run only the commands the operator's config lists; never one of its own choosing. */
export function checkStdioCommand(rules: readonly StdioCommandRule[], command: string, args: readonly string[], env: Record<string, string>): void {
  const allowed = rules.some((rule) => {
    if (typeof rule === 'string') return rule === command;
    if (rule.command !== command) return false;
    if (rule.args) return rule.args.length === args.length && rule.args.every((arg, i) => arg === args[i]);
    if (rule.argsPrefix) return rule.argsPrefix.every((arg, i) => arg === args[i]);
    return true;
  });
  if (!allowed) {
    throw new MeshError(
      'permission_denied',
      `command: "${command}"${args.length ? ` with these arguments` : ''} is not on the server's list of allowed stdio integrations (integrations.stdioCommands in the config file)`,
      { field: 'command' },
    );
  }
  for (const name of Object.keys(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw invalidArgument(`env.${name}`, 'is not a valid environment variable name');
    if (FORBIDDEN_ENV.some((pattern) => pattern.test(name))) throw invalidArgument(`env.${name}`, 'may not be set for an integration (it could change what runs)');
  }
}
