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
if [ ! -f "$DATA/_access/keys.json" ] && [ "${LAKEHOUSE_AUTH_ENABLED:-true}" != false ]; then
  echo "run: auth is on; the first start prints an admin API key below, once (only its hash is kept)."
  echo "run: send it as X-API-Key; make more with POST /access/keys (README, Security)."
  echo "run: lost it? stop the server, delete $DATA/_access/keys.json and start again for a new one."
fi
exec "$BIN" serve
