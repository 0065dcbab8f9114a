#!/usr/bin/env bash
# Protobuf tasks: generate Python code, copy google's protos for buf, check
# that the generated code is current, and buf breaking against a git revision.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
BUF=${BUF:-node_modules/.bin/buf}
GOOGLEAPIS=$("$PY" -c 'import os, google.api.annotations_pb2 as m; print(os.path.dirname(os.path.dirname(os.path.dirname(m.__file__))))')

generate() {  # generate OUT_DIR [PROTO_ROOT]
  local out=$1 root=${2:-protos}
  mkdir -p "$out/chronicle/v1"
  "$PY" -m grpc_tools.protoc -I "$root" -I "$GOOGLEAPIS" \
    --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
    "$root"/chronicle/v1/*.proto
  touch "$out/chronicle/v1/__init__.py"
}

image() {  # image PROTO_ROOT OUT: a FileDescriptorSet with imports, as buf reads images
  "$PY" -m grpc_tools.protoc -I "$1" -I "$GOOGLEAPIS" --include_imports --include_source_info \
    --descriptor_set_out="$2" "$1"/chronicle/v1/*.proto
}

buf_deps() {
  rm -rf .buf-deps && mkdir -p .buf-deps/google
  cp -r "$GOOGLEAPIS/google/api" "$GOOGLEAPIS/google/rpc" .buf-deps/google/
  find .buf-deps -type f ! -name '*.proto' -delete
  find .buf-deps -type d -empty -delete
}

case ${1:-} in
  generate)
    rm -f src/chronicle/v1/*_pb2*.py src/chronicle/v1/*_pb2.pyi
    generate src ;;
  check)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    generate "$tmp"
    if ! diff -r -x __pycache__ "$tmp/chronicle/v1" src/chronicle/v1 >/dev/null; then
      diff -r -x __pycache__ "$tmp/chronicle/v1" src/chronicle/v1 | head -20 || true
      echo "generated code in src/chronicle/v1 is stale: run 'make protos'" >&2; exit 1
    fi
    echo "generated code is current" ;;
  lint)
    buf_deps; "$BUF" lint; echo "buf lint: ok" ;;
  breaking)  # breaking [GIT_REV], default HEAD~1
    rev=${2:-HEAD~1}
    if ! git rev-parse -q --verify "$rev^{commit}" >/dev/null || ! git cat-file -e "$rev:protos" 2>/dev/null; then
      echo "buf breaking: skipped, $rev has no protos/"; exit 0
    fi
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    git archive "$rev" protos | tar -x -C "$tmp"
    # Both sides as protoc images: the buf registry (for google's protos) is unreachable.
    image "$tmp/protos" "$tmp/against.binpb"
    image protos "$tmp/current.binpb"
    "$BUF" breaking "$tmp/current.binpb" --against "$tmp/against.binpb" --config buf.yaml \
      --exclude-imports
    echo "buf breaking against $rev: ok" ;;
  *) echo "usage: $0 generate|check|lint|breaking [REV]" >&2; exit 2 ;;
esac
