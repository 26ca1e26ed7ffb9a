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
  image: ['manage images in the image store (import, ls, inspect, rm, export)', 'image command [command options] [arguments...]'],
  'image import': ['import a docker save tarball or an OCI image layout (directory or tar) into the store; prints the image id', 'image import [command options] <path|->', `   --name value      a name to give the image (repo:tag; repo means repo:latest), besides the archive's own
   --progress value  auto (a progress bar when stderr is a terminal, else nothing), tty, plain (a line per layer) or quiet (default: "auto")
   --quiet, -q       no progress output
   --store value     the image store's directory (default: /var/lib/berth as root, $XDG_DATA_HOME/berth otherwise)
   '-' reads the archive from the standard input`],
  'image ls': ['list the images in the store', 'image ls [command options]', `   --format value, -f value  select one of: table or json (default: "table")
   --quiet, -q               display only image IDs
   --no-trunc                show full image IDs
   --store value             the image store's directory`],
  'image inspect': ['display an image\'s id, names, layers, size and config (a JSON array)', 'image inspect [command options] <image> [image...]', "   --store value  the image store's directory"],
  'image rm': ['remove a name from an image, or the image (and its layers no other image uses) by id or last name', 'image rm [command options] <image> [image...]', "   --store value  the image store's directory"],
  'image export': ['write an image as a docker save tarball (docker load and podman load read it)', 'image export [command options] <image> <path|->', `   --store value  the image store's directory
   '-' writes the tarball to the standard output`],
  images: ['list the images in the store (image ls)', 'images [command options]', `   --format value, -f value  select one of: table or json (default: "table")
   --quiet, -q               display only image IDs
   --no-trunc                show full image IDs
   --store value             the image store's directory`],
  volume: ['manage named volumes in the store (create, ls, inspect, rm)', 'volume command [command options] [arguments...]'],
  'volume create': ['create a volume (without a name: an anonymous one); prints its name', 'volume create [command options] [name]', `   --label value, -l value  set a label (key=value; repeatable)
   --store value            the store's directory (default: /var/lib/berth as root, $XDG_DATA_HOME/berth otherwise)`],
  'volume ls': ['list the volumes in the store', 'volume ls [command options]', `   --format value, -f value  select one of: table or json (default: "table")
   --quiet, -q               display only volume names
   --store value             the store's directory`],
  'volume inspect': ["display a volume's mountpoint, labels and users (a JSON array)", 'volume inspect [command options] <name> [name...]', "   --store value  the store's directory"],
  'volume rm': ['remove volumes and their data (refused while a container uses one)', 'volume rm [command options] <name> [name...]', `   --force, -f    remove even while containers use it; no error for a volume that does not exist
   --store value  the store's directory`],
  checkpoint: ['checkpoint a running container (not supported)', 'checkpoint <container-id>'],
  restore: ['restore a container from a previous checkpoint (not supported)', 'restore <container-id>'],
  help: ['shows a list of commands or help for one command', 'help [command]'],
};

// `image import` and the like are a group's: listed by `berth image --help`, not here.
const isTop = (name: string): boolean => !name.includes(' ');

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).filter(isTop).map((c) => c.length)) + 3;
  return `NAME:
   berth - Open Container Initiative runtime (a runc-compatible command line for the berth library)

USAGE:
   berth [global options] command [command options] [arguments...]

COMMANDS:
${Object.entries(COMMANDS)
  .filter(([name]) => isTop(name))
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
  const subs = Object.entries(COMMANDS).filter(([n]) => n.startsWith(`${name} `));
  const width = Math.max(0, ...subs.map(([n]) => n.length - name.length - 1)) + 3;
  const commands = subs.length ? `\nCOMMANDS:\n${subs.map(([n, [s]]) => `   ${n.slice(name.length + 1).padEnd(width)}${s}`).join('\n')}\n` : '';
  return `NAME:\n   berth ${name} - ${summary}\n\nUSAGE:\n   berth ${usage}\n${commands}${options ? `\nOPTIONS:\n${options}\n` : ''}`;
}
