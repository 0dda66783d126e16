#!/usr/bin/env bash
# deps.sh — installs what the build and tests need, and nothing twice.
#  1. Debian packages (apt-get), only those not yet installed.
#  2. DuckDB 1.4.4 from the npm registry: libduckdb.so from
#     @duckdb/node-bindings-linux-x64 and duckdb.h from duckdb, each tarball
#     checked against the registry's sha512 integrity before it is unpacked
#     into third_party/duckdb/{lib,include}.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential clang libclang-rt-14-dev pkg-config curl ca-certificates
  libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libssl-dev libcmocka-dev
  wrk jq procps psmisc
  libpoppler-glib-dev libcairo2-dev libtesseract-dev libleptonica-dev tesseract-ocr-eng  # PDF text + OCR
  libpq-dev libmariadb-dev postgresql-15 mariadb-server  # database sources + their integration tests
  libhnswlib-dev  # header-only C++ HNSW, a peer in bench/src/bench_ann.cpp only (make bench)
  protobuf-c-compiler libprotobuf-c-dev libnghttp2-dev  # internal gRPC: protoc-c at build time, h2c server (ADR 0140)
  chromium fonts-dejavu-core  # headless browser for the console tests (driven by playwright-core)
)
DUCKDB_LIB_PKG="@duckdb/node-bindings-linux-x64@1.4.4-r.4"
DUCKDB_LIB_SHA512="jBTL/WvfwxLToFa/pVHfT6elMtltJGnc3wSuxZD9OfMltit9YUdVFS37vBFQzXMT1Z8OWjtSjMh+zPKxOwHLHA=="
DUCKDB_HDR_PKG="duckdb@1.4.4"
DUCKDB_HDR_SHA512="hEJJ5hyVF0VLj3dmOLpsWrQR0b3d4Ykqtygm6iUXjHJDDnSqg/USKxcb5qvNrOhFYPgktayU6dXCtgPqcmmpog=="

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from Debian or be preinstalled; only add them when absent
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

fetch_npm() { # pkg sha512 member dest
  local pkg=$1 sha=$2 member=$3 dest=$4 tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>&1)
  local tgz; tgz=$(ls "$tmp"/*.tgz)
  local got; got=$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)
  if [ "$got" != "$sha" ]; then
    echo "deps: integrity mismatch for $pkg (got sha512-$got)" >&2; rm -rf "$tmp"; exit 1
  fi
  tar -xzf "$tgz" -C "$tmp" "package/$member"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp/package/$member" "$dest"
  rm -rf "$tmp"
}

DD=third_party/duckdb
if [ ! -f "$DD/lib/libduckdb.so" ]; then
  echo "deps: fetching $DUCKDB_LIB_PKG"
  fetch_npm "$DUCKDB_LIB_PKG" "$DUCKDB_LIB_SHA512" libduckdb.so "$DD/lib/libduckdb.so"
fi
if [ ! -f "$DD/include/duckdb.h" ]; then
  echo "deps: fetching $DUCKDB_HDR_PKG"
  fetch_npm "$DUCKDB_HDR_PKG" "$DUCKDB_HDR_SHA512" src/duckdb/src/include/duckdb.h "$DD/include/duckdb.h"
fi

# npm packages of the test suite (package.json / package-lock.json): playwright-core, s3rver
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/s3rver ]; then
  echo "deps: npm ci (test packages)"
  npm ci --no-audit --no-fund --silent
fi
