#!/bin/sh
# Installs the Debian packages named, when dpkg does not have them yet, so the
# project's own commands work on a fresh machine. Nothing is asked of apt when
# they are installed (works offline); apt-get update runs only when apt does not
# know a package yet (a fresh machine has no package lists).
# Usage: ensure-packages.sh WHO PACKAGE...   (WHO prefixes the messages)
set -eu
who=$1
shift
missing=
for pkg in "$@"; do
  dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q ' installed$' || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "$who: needs the Debian package(s)$missing, and this system has no apt-get: install their equivalent by hand" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "$who: needs the Debian package(s)$missing; run this as root (it installs them), or first: sudo apt-get install -y$missing" >&2
  exit 1
fi

# Another apt run (an unattended upgrade, a parallel job) may hold the dpkg lock: wait for it.
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"; }
known() { apt-cache policy "$1" 2>/dev/null | grep -q '^ *Candidate: [^(]'; }
updated=
for pkg in $missing; do
  if ! known "$pkg"; then
    echo "$who: apt does not know $pkg yet: apt-get update" >&2
    apt_get update -qq
    updated=1
    break
  fi
done
echo "$who: installing$missing (apt-get)" >&2
# shellcheck disable=SC2086 # one word per package
if ! apt_get install -y -qq --no-install-recommends $missing >/dev/null; then
  # Lists that are old name versions the mirror no longer has: refresh them once.
  [ -z "$updated" ] || exit 1
  echo "$who: apt-get install failed; apt-get update and once more" >&2
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends $missing >/dev/null
fi
