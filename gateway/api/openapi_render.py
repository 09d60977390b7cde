"""One route of the OpenAPI document rendered as an operation object: its path and query
parameters, its answers (with the error bodies every route may give) and its request body."""

from __future__ import annotations

from typing import Any

from gateway.api import models, openapi_ops
from gateway.api import openapi_examples as examples

Model = openapi_ops.Model
Operation = openapi_ops.Operation

_ACCOUNT_ID = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]{0,63}$"}
PATH: dict[str, tuple[str, dict[str, Any], object]] = {
    "id": ("account id", _ACCOUNT_ID, "acme"),
    "openid": (
        "follower openid",
        {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"},
        examples.OPENID,
    ),
    "message_id": ("message id", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, 1),
    "event_id": ("event id", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, 1),
    "sync_id": ("follower sync id", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, 1),
    "tag_id": ("platform tag id", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, 100),
    "eid": (
        "webhook endpoint id",
        {"type": "string", "pattern": r"^ep_[0-9a-f]{24}$"},
        "ep_000000000000000000000001",
    ),
    "did": ("delivery id", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, 1),
    "token_id": ("API token id", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, 1),
}
_ERROR_TEXT = {
    400: "bad_request: the body is not valid JSON",
    401: "unauthorized: missing or wrong bearer token",
    403: "capability_not_available: the account kind lacks the capability; forbidden: the "
    "token lacks the scope (or the route is the administrator's only)",
    404: "not_found: no such account or resource",
    408: "request_timeout: the body did not arrive within WXGATE_BODY_READ_TIMEOUT "
    "(the connection is closed)",
    409: "a conflict (see the operation's description for the codes)",
    413: "payload_too_large: body over 1 MiB",
    422: "validation_error: pydantic's error list in details",
    502: "upstream_error: WeChat refused or did not answer",
}
_BODY_ERRORS = (400, 408, 413, 422)


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name, (description, schema, example) in PATH.items():
        if "{" + name + "}" in op.path:
            params.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "description": description,
                    "schema": schema,
                    "example": example,
                }
            )
    if op.query is not None:
        for name, schema in op.query.model_json_schema()["properties"].items():
            params.append({"name": name, "in": "query", "required": False, "schema": schema})
    for header in op.headers:
        schema = {"type": "string", "minLength": 1, "maxLength": 255}
        params.append({"name": header, "in": "header", "required": False, "schema": schema})
    return params


def _json(ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


def operation(op: Operation, refs: dict[tuple[Model, str], Any]) -> dict[str, Any]:
    error_ref = refs[(models.ErrorResponse, "serialization")]
    # Any route may answer 403 forbidden to a scoped token without the scope it needs.
    statuses = {401, 403, *op.errors, *(_BODY_ERRORS if op.body else ())}
    responses: dict[str, Any] = {
        str(status): {"description": text, "content": _json(refs[(model, "serialization")])}
        for status, (text, model) in op.ok.items()
    }
    for status in sorted(statuses):
        responses[str(status)] = {"description": _ERROR_TEXT[status], "content": _json(error_ref)}
    doc: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "parameters": _parameters(op),
        "responses": responses,
    }
    if op.body is not None:
        content = _json(refs[(op.body, "validation")])
        bodies = examples.REQUESTS.get(op.operation_id)
        if bodies:
            content["application/json"]["examples"] = {
                name: {"value": value} for name, value in bodies.items()
            }
        doc["requestBody"] = {"required": True, "content": content}
    return doc
