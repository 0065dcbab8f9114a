"""What an export raises: the one failure a caller reports (503) rather than a bug."""

from __future__ import annotations


class ExportUnavailable(Exception):
    """This machine cannot make the format for this deck (a font its script needs is not
    installed); the message says what to install."""
