"""Make the OpenAPI schema describe the errors the API really sends.

The API answers every refused request with ``{"detail": "one sentence"}`` (see ``create_app``'s
validation handler), but FastAPI documents its default 422 body, whose ``detail`` is a list of
objects. A client generated from the schema would then fail to parse every 422; schemathesis
found it (tests/test_api_schema.py).
"""

from typing import Any

from fastapi import FastAPI

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "what was wrong, in one sentence"}},
    "required": ["detail"],
}


def document_error_shape(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["HTTPValidationError"] = ERROR_SCHEMA
        schemas.pop("ValidationError", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
