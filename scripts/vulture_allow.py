"""Names vulture cannot see used, because a framework calls them or the wire needs them:
`make lint` runs vulture over src, tests and bench with this file, which "uses" them.
Anything else vulture reports is dead code to delete, not to add here."""

_ = object()

# grpcio calls servicer methods by their RPC's name, and an interceptor by its protocol.
_.CreateApiKey, _.GetApiKey, _.ListApiKeys, _.RevokeApiKey, _.RotateApiKey
_.SignIn, _.SignOut, _.GetSignedInUser, _.ListWorkspaces
_.GetDeck, _.ExportDeck, _.GetDeckImage, _.GetDeckGeneration
_.ListApiKeyEvents, _.ListPresentations, _.DeletePresentation, _.SendGenerationMessage
_.CreateUploadTarget
_.intercept_service

# asyncio calls a Protocol's callbacks by name (edge/http_server.py, server/redis_wire.py);
# uvicorn reads its request cycle's flag.
_.connection_made, _.connection_lost, _.data_received, _.disconnected

# python-multipart's parser calls these callbacks by name.
_.on_part_begin, _.on_header_field, _.on_header_value, _.on_header_end
_.on_headers_finished, _.on_part_data, _.on_part_end

# SQLAlchemy reads these from a TypeDecorator and the declarative base; psycopg's
# connection attribute is set, never read, by us.
_.impl, _.cache_ok, _.process_bind_param, _.process_result_value, _.type_annotation_map
_.autocommit

# Protobuf fields set by assignment; uvicorn's stop flag; http.server's hooks; pytest hooks
# and fixtures requested by name.
_.number_value, _.should_exit, _.do_POST, _.log_message
_.pytest_collection_modifyitems, _.pytest_plugins, _.sqlite_only, _.pytest_runtest_makereport
# Selenium reads the browser's path from its options object.
_.binary_location

# Read by the pages' Jinja2 templates (src/edge/web/templates).
_.note, _.alt

# Enum members: values on the wire, met through the enum (by value or iteration).
_.TWO_COLUMN, _.QUOTE, _.IMAGE
_.HARDENING, _.BROWSER  # test tiers, met by iterating Tier
_.SALES, _.PROPOSAL, _.RESEARCH, _.GUIDE, _.MEETING, _.PORTFOLIO
_.UK, _.ES, _.FR, _.DE, _.IT, _.PT, _.CN, _.IN, _.KO, _.AR, _.HI, _.BN
_.INTEGRATION, _.E2E

# Deck export (src/server/export): python-pptx's properties, set by assignment and written
# into the file; fpdf2 reads a document's cell margin and a font's attributes, and calls
# get_fallback_font, by name; the PPTX slots are met by value (fonts.toml); pytest reads a
# module's marks and requests the export tests' fixture by name.
_.alignment, _.auto_size, _.inherit, _.space_before, _.theme_color, _.vertical_anchor
_.margin_left, _.margin_right, _.margin_top, _.margin_bottom, _.word_wrap
_.c_margin, _.get_fallback_font, _.missing_glyphs, _.biggest_size_pt, _._hbfont
_.EAST_ASIAN, _.COMPLEX
_.pytestmark, _.no_network
