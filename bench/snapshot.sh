#!/bin/sh
# Builds the committed HEAD (or REV) into DIR, so the bench can measure a stable
# berth while the working tree is being edited and rebuilt:
#   sh bench/snapshot.sh /tmp/berth-snap && BERTH_ROOT=/tmp/berth-snap node bench/run.js
set -eu
dir=${1:?usage: snapshot.sh DIR [REV]}
rev=${2:-HEAD}
repo=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$dir"
mkdir -p "$dir"
git -C "$repo" archive "$rev" | tar -x -C "$dir"
ln -s "$repo/node_modules" "$dir/node_modules"
(cd "$dir" && npm run --silent build >"$dir/build.log" 2>&1) || { tail -20 "$dir/build.log"; exit 1; }
git -C "$repo" rev-parse --short "$rev" >"$dir/.berth-commit"
echo "snapshot of $(cat "$dir/.berth-commit") built in $dir"
