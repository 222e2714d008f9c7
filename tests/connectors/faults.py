"""Transport faults that both sandboxes (X and Graph) inject the same way; each network's
ingest tests add the rate-limit forms of their own wire format."""

from __future__ import annotations

from typing import Any

TRANSIENT_FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("server_error", {}),
    ("html_502", {}),
    ("malformed_json", {}),
    ("truncated_body", {}),
    ("no_content_type", {}),
    ("timeout", {"seconds": 2.5}),
    ("repeat_cursor", {}),
    ("duplicate_item", {}),
    ("short_page", {}),
]
