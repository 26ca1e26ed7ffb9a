// Usage text: berth --help and <command> --help.
const COMMANDS: Record<string, [summary: string, usage: string, options?: string]> = {
  create: ['create a container', 'create [command options] <container-id>', `   --bundle value, -b value  path to the root of the bundle directory (default: the current directory)
   --console-socket value    path to an AF_UNIX socket which will receive the pty master
   --pid-file value          file to write the process id to
   --preserve-fds value      pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N)
   --no-new-keyring          (accepted, ignored: berth always makes a new session keyring)
   --no-pivot                (refused: berth always uses pivot_root)`],
  start: ['executes the user defined process in a created container', 'start <container-id>'],
  run: ['create and run a container', 'run [command options] <container-id>', `   --bundle value, -b value  path to the root of the bundle directory (default: the current directory)
   --console-socket value    path to an AF_UNIX socket which will receive the pty master
   --detach, -d              detach from the container's process
   --keep                    do not delete the container after it exits
   --pid-file value          file to write the process id to
   --preserve-fds value      pass N additional file descriptors to the container
   --no-new-keyring          (accepted, ignored: berth always makes a new session keyring)`],
  exec: ['execute new process inside the container', 'exec [command options] <container-id> <command> [command options]  ||  -p process.json <container-id>', `   --process value, -p value          path to the process.json
   --tty, -t                          allocate a pseudo-TTY
   --detach, -d                       detach from the container's process
   --console-socket value             path to an AF_UNIX socket which will receive the pty master
   --pid-file value                   file to write the process id to
   --env value, -e value              set environment variables (repeatable)
   --cwd value                        current working directory in the container
   --user value, -u value             UID (format: <uid>[:<gid>])
   --additional-gids value, -g value  additional gids (repeatable)
   --cap value, -c value              add a capability to the bounding, effective and permitted sets (repeatable)
   --no-new-privs                     set the no new privileges value for the process
   --apparmor value                   set the apparmor profile for the process
   --process-label value              set the asm process label for the process commonly used with selinux
   --preserve-fds value               pass N additional file descriptors to the process
   --ignore-paused                    allow exec in a paused container`],
  kill: ['kill sends the specified signal (default: SIGTERM) to the container\'s init process', 'kill [command options] <container-id> [signal]', '   --all, -a  send the specified signal to all processes inside the container'],
  delete: ['delete any resources held by the container often used with detached container', 'delete [command options] <container-id>', '   --force, -f  forcibly deletes the container if it is still running (uses SIGKILL)'],
  state: ['output the state of a container', 'state <container-id>'],
  list: ['lists containers started by berth with the given root', 'list [command options]', `   --format value, -f value  select one of: table or json (default: "table")
   --quiet, -q               display only container IDs`],
  ps: ['ps displays the processes running inside a container', 'ps [command options] <container-id> [ps options]', '   --format value, -f value  select one of: table or json (default: "table")'],
  pause: ['pause suspends all processes inside the container', 'pause <container-id>'],
  resume: ['resumes all processes that have been previously paused', 'resume <container-id>'],
  update: ['update container resource constraints', 'update [command options] <container-id>', `   --resources value, -r value  path to a file containing the resources to update or '-' to read from the standard input
   --blkio-weight value         specifies per cgroup weight, range is from 10 to 1000
   --cpu-period value           CPU CFS period to be used for hardcapping (in usecs)
   --cpu-quota value            CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period
   --cpu-share value            CPU shares (relative weight vs. other containers)
   --cpu-rt-period value        CPU realtime period to be used for hardcapping (in usecs)
   --cpu-rt-runtime value       CPU realtime hardcap limit (in usecs)
   --cpu-idle value             set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE
   --cpuset-cpus value          CPU(s) to use
   --cpuset-mems value          memory node(s) to use
   --memory value               memory limit (in bytes; 100m, 1g; -1: unlimited)
   --memory-reservation value   memory reservation or soft_limit (in bytes)
   --memory-swap value          total memory usage (memory + swap); set '-1' to enable unlimited swap
   --kernel-memory value        (accepted and ignored by the kernel's cgroups)
   --pids-limit value           maximum number of pids allowed in the container`],
  events: ['display container events such as OOM notifications, cpu, memory, and IO usage statistics', 'events [command options] <container-id>', `   --interval value  set the stats collection interval (default: 5s)
   --stats           display the container's stats then exit`],
  spec: ['create a new specification file', 'spec [command options]', `   --bundle value, -b value  path to the root of the bundle directory
   --rootless                generate a configuration for a rootless container`],
  features: ['show the enabled features', 'features'],
  checkpoint: ['checkpoint a running container (not supported)', 'checkpoint <container-id>'],
  restore: ['restore a container from a previous checkpoint (not supported)', 'restore <container-id>'],
  help: ['shows a list of commands or help for one command', 'help [command]'],
};

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 3;
  return `NAME:
   berth - Open Container Initiative runtime (a runc-compatible command line for the berth library)

USAGE:
   berth [global options] command [command options] [arguments...]

COMMANDS:
${Object.entries(COMMANDS)
  .map(([name, [summary]]) => `   ${name.padEnd(width)}${summary}`)
  .join('\n')}

GLOBAL OPTIONS:
   --debug                  enable debug logging
   --log value              set the log file to write berth logs to (default is stderr)
   --log-format value       set the log format ('text' (default), or 'json')
   --root value             root directory for storage of container state (default: /run/berth, or $XDG_RUNTIME_DIR/berth when not root)
   --rootless value         ignore cgroup permission errors ('true', 'false', or 'auto') (accepted)
   --systemd-cgroup         (refused: the systemd cgroup driver is not supported)
   --help, -h               show help
   --version, -v            print the version
`;
}

export function commandHelp(name: string): string {
  const entry = COMMANDS[name];
  if (!entry) return mainHelp();
  const [summary, usage, options] = entry;
  return `NAME:\n   berth ${name} - ${summary}\n\nUSAGE:\n   berth ${usage}\n${options ? `\nOPTIONS:\n${options}\n` : ''}`;
}
