#!/bin/sh
# The package as a user gets it: npm pack (its prepack step makes the N-API
# prebuild), npm install of the tarball into an empty project with no compiler
# on PATH, an import of it and, as root with the test rootfs, a real container
# run from it; then an install that builds from the tarball's own sources.
# Exits non-zero at the first failure. Usage: sh scripts/pack-check.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/berth-pack-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
say() { echo "pack-check: [$(($(date +%s) - started)) s] $*" >&2; }
fail() {
  echo "pack-check: FAIL: $*" >&2
  exit 1
}
# The inner npm runs must not see the outer one's settings: under `npm run`,
# npm_config_local_prefix alone would make them install into this checkout.
clean_env() { env -i HOME="$HOME" TMPDIR="${TMPDIR:-/tmp}" "$@"; }

say "npm pack"
(cd "$root" && npm pack --pack-destination "$work" >"$work/pack.out" 2>"$work/pack.log") ||
  { tail -30 "$work/pack.log" >&2; fail "npm pack failed"; }
grep '^build:' "$work/pack.log" >&2 || true
tarball=$work/$(tail -1 "$work/pack.out")
[ -f "$tarball" ] || fail "npm pack printed no tarball name"
tar -tzf "$tarball" >"$work/contents"
for f in package/package.json package/dist/lib/index.js package/dist/lib/index.d.ts package/binding.gyp package/native/addon/addon.cc; do
  grep -qx "$f" "$work/contents" || fail "the tarball has no $f"
done
prebuild=$(grep '^package/prebuilds/linux-x64/.*\.node$' "$work/contents") || fail "the tarball has no linux-x64 prebuild"
# scripts/: only what an install from the tarball runs (package.json's files).
if grep -E '^package/(build|\.cache|node_modules|test|scripts)/' "$work/contents" |
  grep -vxE 'package/scripts/(install\.js|build-steps/packages\.js|ensure-packages\.sh)' >&2; then
  fail "the tarball carries build state, tests or scripts"
fi
say "$(basename "$tarball"): $(wc -l <"$work/contents") files, $(du -k "$tarball" | cut -f1) KiB, prebuild ${prebuild#package/}"

# node, npm and a shell: nothing that could compile the addon.
mkdir "$work/bin"
for tool in node npm sh; do ln -s "$(command -v "$tool")" "$work/bin/$tool"; done
for tool in g++ c++ gcc cc make python3; do
  if (PATH=$work/bin command -v "$tool" >/dev/null); then fail "$tool is reachable on the no-compiler PATH"; fi
done

app=$work/app
mkdir "$app"
echo '{ "name": "berth-pack-check", "private": true }' >"$app/package.json"
say "npm install of the tarball with PATH=$work/bin (node, npm, sh only)"
(cd "$app" && clean_env PATH="$work/bin" npm install --no-audit --no-fund --loglevel=error "$tarball") ||
  fail "npm install of the tarball failed without a compiler"
[ ! -e "$app/node_modules/berth/build" ] || fail "the install compiled the addon (node_modules/berth/build exists)"
# require.resolve('berth/package.json') is what exports "./package.json" allows.
loaded=$(cd "$app" && clean_env PATH="$work/bin" node -e "
  const path = require('node:path');
  const dir = path.dirname(require.resolve('berth/package.json'));
  console.log(path.relative(dir, require('node-gyp-build').path(dir)));")
[ "$loaded" = "${prebuild#package/}" ] || fail "the installed berth loads $loaded, not its prebuild"
typeof_run=$(cd "$app" && clean_env PATH="$work/bin" node -e "import('berth').then(m => console.log(typeof m.run))") ||
  fail "import('berth') failed"
[ "$typeof_run" = function ] || fail "import('berth'): typeof run is '$typeof_run'"
say "import('berth') from the install: typeof run = $typeof_run (addon: $loaded)"

rootfs=${BERTH_TEST_ROOTFS:-$root/test/fixtures/rootfs}
if [ "$(id -u)" = 0 ] && [ -f "$rootfs/.berth-rootfs" ]; then
  # The stripped prebuild carries berth-init: a container proves it survived.
  ran=$(cd "$app" && clean_env PATH="$work/bin" ROOTFS="$rootfs" node --input-type=module -e "
    import { run } from 'berth';
    const r = await run({ rootfs: process.env.ROOTFS, process: { args: ['/bin/echo', 'hello from the packed berth'] } });
    console.log(r.exitCode, r.stdout.toString().trim());") || fail "run() from the install failed"
  [ "$ran" = "0 hello from the packed berth" ] || fail "run() from the install printed '$ran'"
  say "run() from the install: $ran"
else
  say "skipped run() from the install (needs root and the test rootfs: sh test/fixtures/make-rootfs.sh)"
fi

# Where no prebuild fits (another arch, musl) npm builds from the tarball's sources:
# binding.gyp, native/ and the node-addon-api headers from dependencies must be enough.
src=$work/from-source
mkdir "$src"
echo '{ "name": "berth-pack-check-source", "private": true }' >"$src/package.json"
say "npm install of the tarball, built from source (npm_config_build_from_source=true)"
(cd "$src" && clean_env PATH="$PATH" npm_config_build_from_source=true npm install --no-audit --no-fund --loglevel=error "$tarball" >"$work/source.log" 2>&1) ||
  { tail -30 "$work/source.log" >&2; fail "npm install --build-from-source failed"; }
[ -f "$src/node_modules/berth/build/Release/berth.node" ] || fail "the from-source install built no build/Release/berth.node"
typeof_run=$(cd "$src" && clean_env PATH="$PATH" node -e "import('berth').then(m => console.log(typeof m.run))") ||
  fail "import('berth') from the from-source install failed"
[ "$typeof_run" = function ] || fail "import('berth') from source: typeof run is '$typeof_run'"
say "import('berth') from the from-source install: typeof run = $typeof_run"

say ok
