"""Prometheus metrics of the whole product, in one dedicated registry.

The HTTP server exposes them at `/metrics`; the inbound path, the API and the scheduler
increment them. A dedicated registry keeps tests and embedded runs free of the default
registry's process collectors and of duplicate-registration errors.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

CALLBACKS = Counter(
    "wxgate_callbacks_total",
    "WeChat callbacks received, by account and outcome.",
    ["account_id", "outcome"],
    registry=REGISTRY,
)

MESSAGES = Counter(
    "wxgate_messages_total",
    "Message status changes (enqueued, held, sent, canceled ...), by status and reason.",
    ["status", "reason"],
    registry=REGISTRY,
)

RELEASE_LATENCY = Histogram(
    "wxgate_release_latency_seconds",
    "Time from enqueue to sent, per delivery.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 3600, 86400),
    registry=REGISTRY,
)

WECHAT_CALLS = Counter(
    "wxgate_wechat_calls_total",
    "Calls to the WeChat API, by path and errcode (0 for success, 'transport' for none).",
    ["path", "errcode"],
    registry=REGISTRY,
)

# Webhooks out (SPEC 7), counted by the worker that makes the attempts.
WEBHOOK_DELIVERIES = Counter(
    "wxgate_webhook_deliveries_total",
    "Webhook attempts by outcome: delivered, retrying (will be tried again), failed (gave up).",
    ["outcome"],
    registry=REGISTRY,
)

WEBHOOK_LATENCY = Histogram(
    "wxgate_webhook_attempt_seconds",
    "Duration of one webhook attempt, request to answer (or error).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)

# Bounded cardinality: only the WEBHOOK_DEPTH_SERIES deepest endpoints get a series.
WEBHOOK_DEPTH_SERIES = 50
WEBHOOK_QUEUE_DEPTH = Gauge(
    "wxgate_webhook_queue_depth",
    "Pending webhook deliveries of the deepest endpoints.",
    ["account_id", "endpoint_id"],
    registry=REGISTRY,
)

WEBHOOK_ENDPOINTS_DISABLED = Gauge(
    "wxgate_webhook_endpoints_disabled",
    "Webhook endpoints currently disabled (by the business or after failing too long).",
    registry=REGISTRY,
)
