"""The MCP tools, read from the protos like the REST routes: every RPC carrying the
`(chronicle.v1.mcp_tool)` option is a tool, its input schema the request message's, its
output the response's (decision 033)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor, message_factory
from google.protobuf.message import Message

from chronicle import contract
from chronicle.v1 import options_pb2
from edge.openapi import Schema, json_schema

WORKSPACE_ID = "workspace_id"
_WORKSPACE_PARAMETER: Schema = {
    "type": "string",
    "description": "The workspace to act in: it must be the API key's own (list_workspaces).",
}


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    method: descriptor.MethodDescriptor
    # Tool parameter → request field, where the names differ (presentation_id → id).
    renamed: dict[str, str]
    # A server-streaming RPC whose next message ends a wait (get_generation_status).
    wait_with: descriptor.MethodDescriptor | None
    input_schema: Schema
    output_schema: Schema | None  # None: the reply is a file (google.api.HttpBody)

    @property
    def takes_workspace(self) -> bool:
        """Every tool but the one that lists workspaces names one, as Chronicle's do."""
        return WORKSPACE_ID in self.input_schema["properties"]

    @property
    def returns_file(self) -> bool:
        return self.output_schema is None

    def request(self, arguments: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The request's fields (by field name) and the workspace_id given, if any."""
        fields = {self.renamed.get(name, name): value for name, value in arguments.items()}
        workspace = fields.get(WORKSPACE_ID)
        if WORKSPACE_ID not in self.method.input_type.fields_by_name:
            fields.pop(WORKSPACE_ID, None)
        return fields, workspace if isinstance(workspace, str) else None

    def new_request(self) -> Message:
        return message_factory.GetMessageClass(self.method.input_type)()


def _option(method: descriptor.MethodDescriptor) -> options_pb2.McpTool | None:
    options = method.GetOptions()
    if not options.HasExtension(options_pb2.mcp_tool):  # type: ignore[arg-type]
        return None
    tool: options_pb2.McpTool = options.Extensions[options_pb2.mcp_tool]  # type: ignore[index]
    return tool


def _input_schema(
    method: descriptor.MethodDescriptor, renamed: dict[str, str], without_workspace: bool
) -> Schema:
    schema = json_schema(method.input_type)
    by_field = {field: name for name, field in renamed.items()}
    properties: dict[str, Schema] = {
        by_field.get(name, name): value for name, value in schema["properties"].items()
    }
    if not without_workspace:
        properties.setdefault(WORKSPACE_ID, copy.deepcopy(_WORKSPACE_PARAMETER))
    schema["properties"] = properties
    if "required" in schema:
        schema["required"] = [by_field.get(name, name) for name in schema["required"]]
    return schema


def tools(services: tuple[descriptor.ServiceDescriptor, ...] = contract.SERVICES) -> list[Tool]:
    found = []
    for service in services:
        for method in service.methods:
            option = _option(method)
            if option is None or not option.name:
                continue
            renamed = {p.name: p.field for p in option.parameters}
            unknown = set(renamed.values()) - set(method.input_type.fields_by_name)
            if unknown:
                raise ValueError(f"{option.name}: no request field {sorted(unknown)}")
            wait_with = service.methods_by_name[option.wait_with] if option.wait_with else None
            found.append(
                Tool(
                    name=option.name,
                    description=option.description,
                    method=method,
                    renamed=renamed,
                    wait_with=wait_with,
                    input_schema=_input_schema(method, renamed, option.without_workspace),
                    output_schema=None
                    if contract.returns_http_body(method)
                    else json_schema(method.output_type),
                )
            )
    return found
