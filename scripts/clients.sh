#!/usr/bin/env bash
# Builds the TypeScript client of clients/ts: code generated from protos/ by
# protoc-gen-es (npm), compiled by tsc, into OUT_DIR (default build/clients). The
# generated code is never committed: it is made from the protos every time, so the
# client's build is the check that the protos still generate TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
out=$(realpath -m "${1:-build/clients}")
GOOGLEAPIS=$("$PY" -c 'import os, google.api.annotations_pb2 as m; print(os.path.dirname(os.path.dirname(os.path.dirname(m.__file__))))')

rm -rf "$out" && mkdir -p "$out/src/gen"
# The client's sources next to the code they import, so that tsc compiles one tree;
# OUT_DIR must be inside the repository, where node finds node_modules/.
cp clients/ts/*.ts "$out/src/"
cp clients/ts/tsconfig.json "$out/"
# Our protos, what they import from google/api, and google/rpc's Status and details
# (the client decodes ErrorInfo from an error's details). Well-known types come with
# @bufbuild/protobuf.
"$PY" -m grpc_tools.protoc -I protos -I "$GOOGLEAPIS" \
  --plugin=protoc-gen-es=node_modules/.bin/protoc-gen-es \
  --es_out="$out/src/gen" --es_opt=target=ts,import_extension=js \
  protos/chronicle/v1/*.proto \
  google/api/annotations.proto google/api/http.proto google/api/field_behavior.proto \
  google/api/resource.proto google/api/httpbody.proto google/rpc/status.proto \
  google/rpc/error_details.proto
node_modules/.bin/tsc -p "$out/tsconfig.json"
echo "$out/js"
