"""What the server enforces on each field of a request, as JSON Schema keywords, for the
OpenAPI document. The protos say which fields are REQUIRED; the limits below live in the
server's services (the edge may not import them): tests/hardening/test_openapi_constraints.py
fails when a request field has no entry here or a limit differs from the server's.

Beyond these, every string of a request refuses NUL (U+0000) and every request object
refuses unknown fields; openapi.py adds those to all of them.
"""

from __future__ import annotations

from typing import Any

from chronicle import upload_policy

Schema = dict[str, Any]

# Mirrors of the server's limits (checked equal by the test named above).
MAX_PROMPT = 100_000  # services.jobs
MAX_GENERATED_SECTIONS = 50  # services.jobs.MAX_SECTIONS
MAX_TITLE = 500  # services.presentations
MAX_SECTIONS = 200  # services.presentations
MAX_FILE_NAME = 255  # services.uploads
MAX_ATTACHMENTS = 10  # services.uploads
MAX_KEY_NAME = 200  # services.keys.MAX_NAME
MAX_REVOKE_REASON = 1000  # services.keys.revoke_api_key
# The server takes these in any letter case; the document names the canonical spelling.
NARRATIVE_TYPES = (
    "Pitch",
    "Showcase",
    "Sales",
    "Proposal",
    "Research",
    "Guide",
    "Meeting",
    "Portfolio",
    "Auto",
)
REWRITE_STYLES = ("Strong", "Subtle", "Preserve")
LANGUAGES = ("us", "uk", "es", "fr", "de", "it", "pt", "cn", "in", "ja", "ko", "ar", "hi", "bn")
LAYOUTS = ("title", "title_and_body", "two_column", "quote", "image", "closing")
EXPORT_FORMATS = ("pptx", "pdf")  # services.exports.FORMATS, in any letter case
ENVIRONMENTS = ("", "live", "test")  # "" is live
# update_mask's paths, as FieldMask's JSON form spells them (lowerCamelCase).
UPDATABLE = ("title", "isPublic", "sections")

# Every pattern below also refuses NUL, as the server does in any string.
# Non-blank: at least one character that is not white space (the server strips first).
NOT_BLANK: Schema = {"minLength": 1, "pattern": r"^[^\u0000]*[^\s\u0000][^\u0000]*$"}
# Printable text (Python's str.isprintable, which the server uses): no control, format,
# surrogate, private-use, unassigned or separator characters but the space. A regex
# without \p{...} (Python's has none) cannot say it in less than 10 KB: a named format
# says it, and the pattern the control characters.
_CONTROL = r"\u0000-\u001f\u007f-\u009f"
PRINTABLE: Schema = {"format": "printable", "pattern": f"^[^{_CONTROL}]*$"}


def up_to(limit: int) -> str:
    """A regex for the decimal numbers 1 to `limit`, without leading zeros."""
    digits = str(limit)
    shorter = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    same = []
    for i, digit in enumerate(digits):
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):
            rest = len(digits) - i - 1
            same.append(
                f"{digits[:i]}[{low}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else "")
            )
    return "^(?:" + "|".join([*shorter, *same, digits]) + ")$"


_SECTION_COUNT: Schema = {
    "description": (
        f"A whole number from 1 to {MAX_GENERATED_SECTIONS}, as a number or a numeric "
        'string, or "auto".'
    ),
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_GENERATED_SECTIONS},
        {"type": "string", "enum": ["auto"]},
        {"type": "string", "pattern": up_to(MAX_GENERATED_SECTIONS)},
        {"type": "null"},
    ],
}

# Message.field → keywords merged into the field's schema ({} when the type says it all).
# For a repeated field, the keywords apply to the array; "items" to its elements.
RULES: dict[str, Schema] = {
    # PresentationService
    "CreatePresentationRequest.template_id": NOT_BLANK,
    "CreatePresentationRequest.selected_section_ids": {},  # must be the template's: state
    "GetPresentationRequest.id": NOT_BLANK,
    "ExportPresentationRequest.id": NOT_BLANK,
    "ExportPresentationRequest.format": {"enum": list(EXPORT_FORMATS)},
    "UpdatePresentationRequest.id": NOT_BLANK,
    "UpdatePresentationRequest.title": {**NOT_BLANK, "maxLength": MAX_TITLE},
    "UpdatePresentationRequest.is_public": {},
    "UpdatePresentationRequest.sections": {"maxItems": MAX_SECTIONS},
    "UpdatePresentationRequest.update_mask": {
        "pattern": "^(?:(?:{0})(?:,(?:{0}))*)?$".format("|".join(UPDATABLE))
    },
    "ListPresentationsRequest.page_size": {"minimum": 0},
    "ListPresentationsRequest.page_token": {},  # opaque: only tokens the server issued
    "DeletePresentationRequest.id": NOT_BLANK,
    "GeneratePresentationRequest.prompt": {**NOT_BLANK, "maxLength": MAX_PROMPT},
    "GeneratePresentationRequest.template_id": {},  # "" or absent: no template
    "GeneratePresentationRequest.selected_section_ids": {},  # only with a template_id
    "GeneratePresentationRequest.attachments": {"maxItems": MAX_ATTACHMENTS},
    "GeneratePresentationRequest.non_interactive": {},
    "GeneratePresentationRequest.narrative_type": {"enum": list(NARRATIVE_TYPES)},
    "GeneratePresentationRequest.rewrite_style": {"enum": list(REWRITE_STYLES)},
    "GeneratePresentationRequest.section_count": _SECTION_COUNT,
    "GeneratePresentationRequest.language": {"enum": list(LANGUAGES)},
    "GetGenerationStatusRequest.generation_id": NOT_BLANK,
    "SendGenerationMessageRequest.generation_id": NOT_BLANK,
    "SendGenerationMessageRequest.content": NOT_BLANK,
    "SendGenerationMessageRequest.attachments": {"maxItems": MAX_ATTACHMENTS},
    "CreateUploadTargetRequest.file_name": {
        **NOT_BLANK,
        **PRINTABLE,
        "maxLength": MAX_FILE_NAME,
        "pattern": rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$",
    },
    "CreateUploadTargetRequest.content_type": {
        "enum": [*upload_policy.CONTENT_TYPES, *upload_policy.ALIASES]
    },
    "CreateUploadTargetRequest.declared_file_size": {
        "minimum": 1,
        "maximum": upload_policy.MAX_FILE_BYTES,
        "pattern": up_to(upload_policy.MAX_FILE_BYTES),  # the string form of the number
    },
    "Attachment.id": NOT_BLANK,
    "Attachment.url": NOT_BLANK,  # a download URL this service issued: state
    "Attachment.file_name": NOT_BLANK,
    "Attachment.type": NOT_BLANK,  # the type the file was uploaded as: state
    "Section.id": {"pattern": r"^(?:sec_[^\u0000]*)?$"},  # new sections have none; unique: state
    "Section.title": {},
    "Section.layout": {"enum": ["", *LAYOUTS]},  # "" is title_and_body
    "Section.blocks": {},
    "Section.speaker_notes": {},
    "ContentBlock.heading": {},
    "ContentBlock.paragraph": {},
    "ContentBlock.bullet_list": {},
    "ContentBlock.quote": {},
    "ContentBlock.image": {},
    "ContentBlock.table": {},
    "Heading.text": {},
    "Heading.level": {},
    "Paragraph.text": {},
    "BulletList.items": {},
    "BulletList.ordered": {},
    "Quote.text": {},
    "Quote.attribution": {},
    "Image.url": {},
    "Image.alt_text": {},
    "Image.caption": {},
    "Table.header": {},
    "Table.rows": {},
    "TableRow.cells": {},
    # ApiKeyService (served only with admin routes)
    "CreateApiKeyRequest.workspace_id": NOT_BLANK,
    "CreateApiKeyRequest.name": {"maxLength": MAX_KEY_NAME, **PRINTABLE},
    "CreateApiKeyRequest.environment": {"enum": list(ENVIRONMENTS)},
    "CreateApiKeyRequest.expires_in": {"pattern": r"^\+?[0-9.]+s$"},  # positive, ≤ 3650 d
    "CreateApiKeyRequest.rate_limit": {},  # "N/unit": parsed by the server's config rules
    "GetApiKeyRequest.id": NOT_BLANK,
    "ListApiKeysRequest.workspace_id": NOT_BLANK,
    "ListApiKeysRequest.page_size": {"minimum": 0},
    "ListApiKeysRequest.page_token": {},
    "RevokeApiKeyRequest.id": NOT_BLANK,
    "RevokeApiKeyRequest.reason": {"maxLength": MAX_REVOKE_REASON, **PRINTABLE},
    "RotateApiKeyRequest.id": NOT_BLANK,
    "RotateApiKeyRequest.grace_period": {"pattern": r"^\+?[0-9.]+s$"},  # ≤ 3650 days
    "ListApiKeyEventsRequest.workspace_id": NOT_BLANK,
    "ListApiKeyEventsRequest.page_size": {"minimum": 0},
    "ListApiKeyEventsRequest.page_token": {},
}

# Message → keywords merged into the message's schema: rules across its fields.
MESSAGE_RULES: dict[str, Schema] = {
    # Sections are chosen from a template: none without one.
    "GeneratePresentationRequest": {
        "if": {
            "required": ["selected_section_ids"],
            "properties": {"selected_section_ids": {"minItems": 1}},
        },
        "then": {"required": ["template_id"], "properties": {"template_id": {"minLength": 1}}},
    },
}
