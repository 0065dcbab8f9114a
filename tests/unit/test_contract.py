"""What the protos declare beyond messages, read through chronicle.contract."""

from __future__ import annotations

from chronicle import contract


def test_only_rpcs_served_as_reads_are_declared_cheap_reads() -> None:
    reads = {b.full_method for b in contract.http_bindings() if b.verb == "GET"}
    not_reads = {b.full_method for b in contract.http_bindings() if b.verb != "GET"}
    bound = reads | not_reads
    # An RPC served over REST is a cheap read only on GET; one that is not (the pages'
    # GetSignedInUser) only when it is a Get.
    unbound = {m for m in contract.cheap_reads() if m not in bound}
    assert all(m.rsplit("/", 1)[1].startswith("Get") for m in unbound)
    assert not contract.cheap_reads() & not_reads
    streaming = {
        contract.full_method_name(m)
        for service in contract.SERVICES
        for m in service.methods
        if m.server_streaming
    }
    assert streaming and not contract.cheap_reads() & streaming
