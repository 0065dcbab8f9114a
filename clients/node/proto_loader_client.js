// A Node client that loads protos/ at run time (@grpc/proto-loader + @grpc/grpc-js),
// with no generated code, as a user of our protos would. Prints one JSON object of what
// it saw; tests/e2e/test_other_language_clients.py asserts on it.
//   node proto_loader_client.js HOST:PORT API_KEY PROTOS_DIR GOOGLEAPIS_DIR
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const protobuf = require("protobufjs");

const [target, key, protosDir, googleDir] = process.argv.slice(2);
if (!googleDir) throw new Error("usage: proto_loader_client.js HOST:PORT API_KEY PROTOS GOOGLEAPIS");
const includeDirs = [protosDir, googleDir];

const definition = protoLoader.loadSync(
  ["chronicle/v1/identity_service.proto", "chronicle/v1/presentation_service.proto"],
  { includeDirs, keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
);
const v1 = grpc.loadPackageDefinition(definition).chronicle.v1;

// google.rpc.Status and ErrorInfo, to read an error's details (grpc-status-details-bin).
const rpc = new protobuf.Root();
rpc.resolvePath = (_origin, file) =>
  includeDirs.map((dir) => path.join(dir, file)).find((p) => fs.existsSync(p)) ?? file;
rpc.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"], { keepCase: true });
const Status = rpc.lookupType("google.rpc.Status");
const ErrorInfo = rpc.lookupType("google.rpc.ErrorInfo");

function stubs(apiKey) {
  const credentials = grpc.credentials.createInsecure();
  const metadata = new grpc.Metadata();
  metadata.set("x-api-key", apiKey);
  const promised = (client) => (method, request) =>
    new Promise((resolve, reject) =>
      client[method](request, metadata, (error, reply) => (error ? reject(error) : resolve(reply))),
    );
  return {
    identity: promised(new v1.IdentityService(target, credentials)),
    presentations: promised(new v1.PresentationService(target, credentials)),
  };
}

function errorInfos(error) {
  const [details] = error.metadata.get("grpc-status-details-bin");
  if (!details) return [];
  return Status.decode(details)
    .details.filter((any) => any.type_url.endsWith("/google.rpc.ErrorInfo"))
    .map((any) => {
      const info = ErrorInfo.decode(any.value);
      return { reason: info.reason, domain: info.domain };
    });
}

async function main() {
  const { identity, presentations } = stubs(key);
  const caller = await identity("GetCaller", {});
  const { templates } = await presentations("ListTemplates", {});
  const created = await presentations("CreatePresentation", { template_id: templates[0].id });
  const got = await presentations("GetPresentation", { id: created.id });
  const listed = await presentations("ListPresentations", { page_size: 10 });

  let refused = { error: "the bad key was accepted" };
  try {
    await stubs(`${key.slice(0, -4)}zzzz`).identity("GetCaller", {});
  } catch (error) {
    refused = { code: grpc.status[error.code], details: errorInfos(error) };
  }
  console.log(JSON.stringify({ caller, created, got, listed, refused }));
}

main().then(
  () => process.exit(0), // the channels would keep the process alive
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
