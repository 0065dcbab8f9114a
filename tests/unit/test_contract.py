"""What the protos declare beyond messages, read through chronicle.contract."""

from __future__ import annotations

from chronicle import contract


def test_only_rpcs_served_as_reads_are_declared_cheap_reads() -> None:
    reads = {b.full_method for b in contract.http_bindings() if b.verb == "GET"}
    not_reads = {b.full_method for b in contract.http_bindings() if b.verb != "GET"}
    assert contract.cheap_reads() <= reads
    assert not contract.cheap_reads() & not_reads
    streaming = {
        contract.full_method_name(m)
        for service in contract.SERVICES
        for m in service.methods
        if m.server_streaming
    }
    assert streaming and not contract.cheap_reads() & streaming
