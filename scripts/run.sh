#!/usr/bin/env bash
# run.sh — `make run`: loads the demo data once (when the demo generator is
# built in and the data folder has no catalog yet), then serves on :3100
# (or LAKEHOUSE_PORT / lakehouse.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/lakehouse
DATA=${LAKEHOUSE_DATA:-./data}
if "$BIN" help | grep -q '^  demo' && [ ! -d "$DATA/_catalog/datasets" ]; then
  "$BIN" demo
fi
exec "$BIN" serve
