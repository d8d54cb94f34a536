#!/usr/bin/env bash
# Installs code-server (VS Code 1.100 served by Node) into .vscode-test/code-server, as
# /work/shared/recipes/real-vscode.md describes. Needs the apt packages libkrb5-dev, ripgrep, chromium.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.vscode-test/code-server"
if [ -x "$dir/node_modules/.bin/code-server" ]; then
  echo "code-server already installed in $dir"
  exit 0
fi
# @vscode/ripgrep downloads rg from GitHub at install; it first looks in its cache under os.tmpdir().
cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
mkdir -p "$cache"
[ -f "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" ] ||
  tar czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || npm init -y >/dev/null
# 4.100.x is the newest line that runs on Node 20. --unsafe-perm: its postinstall refuses root without it;
# npm_config_yes: node-pty's postinstall runs `npx node-gyp`, which would otherwise ask.
npm_config_yes=true npm install --no-audit --no-fund --unsafe-perm code-server@4.100.3
