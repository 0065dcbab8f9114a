// A TypeScript client generated from protos/ (protoc-gen-es) calling the gRPC server
// through Connect's gRPC transport, as a user of "generated stubs in other languages"
// would. Prints one JSON object of what it saw; tests/e2e/test_other_language_clients.py
// asserts on it.
//   node js/client.js HOST:PORT API_KEY
import { create, toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

import { CallerSchema, IdentityService } from "./gen/chronicle/v1/identity_service_pb.js";
import { PresentationSchema } from "./gen/chronicle/v1/presentation_pb.js";
import {
  CreatePresentationRequestSchema,
  ListPresentationsResponseSchema,
  PresentationService,
} from "./gen/chronicle/v1/presentation_service_pb.js";
import { ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";

function withKey(key: string): Interceptor {
  return (next) => async (request) => {
    request.header.set("x-api-key", key);
    return next(request);
  };
}

function clients(target: string, key: string) {
  const transport = createGrpcTransport({
    baseUrl: `http://${target}`,
    interceptors: [withKey(key)],
  });
  return {
    identity: createClient(IdentityService, transport),
    presentations: createClient(PresentationService, transport),
  };
}

// snake_case, as the REST API and the Python test spell fields.
function json<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>) {
  return toJson(schema, message, { useProtoFieldName: true });
}

async function main(): Promise<void> {
  const [target, key] = process.argv.slice(2);
  if (!target || !key) throw new Error("usage: client.js HOST:PORT API_KEY");
  const { identity, presentations } = clients(target, key);

  const caller = await identity.getCaller({});
  const { templates } = await presentations.listTemplates({});
  const created = await presentations.createPresentation(
    create(CreatePresentationRequestSchema, { templateId: templates[0].id }),
  );
  const got = await presentations.getPresentation({ id: created.id });
  const listed = await presentations.listPresentations({ pageSize: 10 });

  let refused: object = { error: "the bad key was accepted" };
  try {
    await clients(target, `${key.slice(0, -4)}zzzz`).identity.getCaller({});
  } catch (caught) {
    const error = ConnectError.from(caught);
    refused = {
      code: Code[error.code],
      details: error.findDetails(ErrorInfoSchema).map((info) => ({
        reason: info.reason,
        domain: info.domain,
      })),
    };
  }

  console.log(
    JSON.stringify({
      caller: json(CallerSchema, caller),
      created: json(PresentationSchema, created),
      got: json(PresentationSchema, got),
      listed: json(ListPresentationsResponseSchema, listed),
      refused,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
