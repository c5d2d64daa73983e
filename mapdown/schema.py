"""The JSON Schema (draft 2020-12) of the front matter, generated from the model's declarations."""

from __future__ import annotations

import json
from typing import Any

from mapdown.config import CONFIG
from mapdown.model import DEAL
from mapdown.spec import Record

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema(record: Record = DEAL) -> dict[str, Any]:
    schema = {"$schema": DIALECT, "$id": f"urn:mapdown:schema:{record.title}"}
    schema.update(record.json_schema())
    return schema


def json_schema_text(config: bool = False) -> str:
    return json.dumps(json_schema(CONFIG if config else DEAL), indent=2, ensure_ascii=False)
