// exec's process: runc's getProcess. From -p/--process FILE an OCI process
// as it is; otherwise the container's own process (its bundle's config.json)
// with the flags over it: args, --cwd, --env appended, -t, --user, --cap added
// to the bounding/effective/permitted sets (and ambient when the process has
// an inheritable set), --no-new-privs, --apparmor, --process-label.
import type { ProcessConfig } from '../../types/api.js';
import type { LinuxCapabilities, Process } from '../../types/oci.js';
import { type Parsed, bool, list, parseInteger, str } from './args.js';
import { CliError } from './errors.js';

export function normalizeCap(raw: string): string {
  const c = raw.trim().toUpperCase();
  return c.startsWith('CAP_') ? c : `CAP_${c}`;
}

/** `--user UID[:GID]`, numeric as runc takes them. */
export function parseUser(raw: string): { uid: number; gid?: number } {
  const [u, g] = raw.split(':', 2) as [string, string | undefined];
  const uid = parseInteger(u, '--user (uid)', { min: 0 });
  return g === undefined ? { uid } : { uid, gid: parseInteger(g, '--user (gid)', { min: 0 }) };
}

function addCaps(base: LinuxCapabilities | undefined, caps: string[]): LinuxCapabilities {
  const out: LinuxCapabilities = { ...(base ?? {}) };
  const add = (set: string[] | undefined): string[] => [...new Set([...(set ?? []), ...caps])];
  out.bounding = add(out.bounding);
  out.effective = add(out.effective);
  out.permitted = add(out.permitted);
  // Ambient needs inheritable: only where the process has that set (as runc).
  if (out.inheritable) {
    out.inheritable = add(out.inheritable);
    out.ambient = add(out.ambient);
  }
  return out;
}

/** What the process file says; `terminal` etc. as given. */
export function processFromFile(text: string, file: string): Process {
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch (err) {
    throw new CliError(`cannot parse process file ${file}: ${(err as Error).message}`);
  }
  if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new CliError(`process file ${file} is not a JSON object`);
  return p as Process;
}

/**
 * The process exec runs. `file` is -p's parsed content; `base` the container's
 * config process (undefined when its bundle is gone: the library then fills in
 * the init's settings for what is not given).
 */
export function buildExecProcess(p: Parsed, args: string[], opts: { file?: Process; base?: Process } = {}): ProcessConfig {
  let proc: Process;
  if (opts.file) {
    proc = { ...opts.file };
  } else {
    const base = opts.base ?? {};
    proc = { ...base, args };
    const cwd = str(p, 'cwd');
    if (cwd) proc.cwd = cwd;
    const apparmor = str(p, 'apparmor');
    if (apparmor) proc.apparmorProfile = apparmor;
    const label = str(p, 'process-label');
    if (label) proc.selinuxLabel = label;
    const caps = list(p, 'cap').map(normalizeCap);
    if (caps.length) proc.capabilities = addCaps(base.capabilities, caps);
    const env = list(p, 'env');
    if (env.length) {
      const baseEnv = Array.isArray(base.env) ? base.env : Object.entries(base.env ?? {}).map(([k, v]) => `${k}=${v}`);
      proc.env = [...baseEnv, ...env];
    }
    proc.terminal = bool(p, 'tty');
    if (bool(p, 'no-new-privs')) proc.noNewPrivileges = true;
    const user = str(p, 'user');
    const gids = list(p, 'additional-gids').map((g) => parseInteger(g, '--additional-gids', { min: 0 }));
    if (user || gids.length) {
      const u = { ...(base.user ?? {}) };
      if (user) Object.assign(u, parseUser(user));
      if (gids.length) u.additionalGids = [...(u.additionalGids ?? []), ...gids];
      proc.user = u;
    }
  }
  if (!proc.args?.length) throw new CliError('process args must not be empty (give the command after the container id, or -p FILE)');
  return { ...proc, stdio: ['inherit', 'inherit', 'inherit'] };
}

/** runc's rules for a terminal and a console socket. */
export function checkTerminal(terminal: boolean, detached: boolean, consoleSocket: string | undefined): void {
  if (terminal && detached && !consoleSocket) throw new CliError('cannot allocate tty if berth will detach without setting console socket');
  if (consoleSocket && !terminal) throw new CliError('cannot use console socket if berth will not detach or allocate tty');
}
