"""The rules: plain functions over a unit of work, testable without gRPC."""
