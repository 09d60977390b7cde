"""The OpenAPI operations of the webhook routes (SPEC 7), part of /api/openapi.json."""

from __future__ import annotations

from gateway.api import models, openapi_ops
from gateway.api.models import webhooks

Op = openapi_ops.Operation
_EP = "/api/v1/accounts/{id}/endpoints"

OPERATIONS: tuple[openapi_ops.Operation, ...] = (
    Op(
        "post",
        _EP,
        "createEndpoint",
        "Create a webhook endpoint; its secret is shown in this answer only. Destinations "
        "resolving to private, loopback, link-local or multicast addresses are a 422 unless "
        "WXGATE_WEBHOOK_ALLOW_PRIVATE=true",
        {201: ("created", webhooks.EndpointWithSecret)},
        (404,),
        webhooks.NewEndpoint,
    ),
    Op(
        "get",
        _EP,
        "listEndpoints",
        "An account's webhook endpoints (keyset pages by id)",
        {200: ("a page", webhooks.EndpointPage)},
        (404, 422),
        query=models.PageQuery,
    ),
    Op(
        "get",
        _EP + "/{eid}",
        "getEndpoint",
        "A webhook endpoint (never its secret), with why it was disabled",
        {200: ("the endpoint", webhooks.Endpoint)},
        (404,),
    ),
    Op(
        "patch",
        _EP + "/{eid}",
        "updateEndpoint",
        "Change an endpoint; `disabled: false` enables it again",
        {200: ("the endpoint", webhooks.Endpoint)},
        (404,),
        webhooks.EndpointChange,
    ),
    Op(
        "delete",
        _EP + "/{eid}",
        "deleteEndpoint",
        "Delete an endpoint with its deliveries",
        {200: ("the endpoint deleted", webhooks.Endpoint)},
        (404,),
    ),
    Op(
        "post",
        _EP + "/{eid}/secret/rotate",
        "rotateEndpointSecret",
        "A new secret; for 24 hours both secrets sign every request",
        {200: ("the endpoint with its new secret", webhooks.EndpointWithSecret)},
        (404,),
    ),
    Op(
        "get",
        _EP + "/{eid}/deliveries",
        "listDeliveries",
        "Deliveries to an endpoint, newest first, each with its attempts",
        {200: ("a page", webhooks.DeliveryPage)},
        (404, 422),
        query=webhooks.DeliveryQuery,
    ),
    Op(
        "post",
        _EP + "/{eid}/deliveries/{did}/retry",
        "retryDelivery",
        "Attempt one delivery once more, now",
        {202: ("due now", webhooks.Delivery)},
        (404,),
    ),
    Op(
        "post",
        _EP + "/{eid}/replay",
        "replayEvents",
        "Queue the stored events of a period again, with their original ids (422 for an "
        "inverted period or one beyond the 30-day retention)",
        {202: ("queued", webhooks.ReplayAccepted)},
        (404,),
        webhooks.Replay,
    ),
    Op(
        "get",
        "/api/v1/accounts/{id}/inbound",
        "listInbound",
        "Stored callbacks as webhook payloads, oldest first (keyset pages), for polling",
        {200: ("a page", webhooks.InboundPage)},
        (404, 422),
        query=webhooks.InboundQuery,
    ),
)
