// The Debian packages a build from source needs beyond g++ and make: the
// libseccomp headers (the addon compiles seccomp profiles with libseccomp).
// Installed through ensure-packages.sh (as root, only when missing), so a
// fresh machine needs no step of its own.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

function hasHeader(header, env) {
  const r = spawnSync(env.CXX || 'g++', ['-E', '-x', 'c++', '-'], { input: `#include <${header}>\n`, encoding: 'utf8', env });
  return r.status === 0;
}

export function ensureBuildPackages(root, who, env = process.env) {
  if (hasHeader('seccomp.h', env)) return;
  const r = spawnSync('sh', [path.join(root, 'scripts', 'ensure-packages.sh'), who, 'libseccomp-dev'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
