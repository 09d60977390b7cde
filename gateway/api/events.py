"""`/api/v1/accounts/{id}/events`: marketing events (C5, service accounts only).

Creating an event creates its temporary check-in QR code through WeChat, valid until the
end. Registration, check-in and the survey happen on the gateway's pages and callbacks
(`event_pages`, `checkin`); this module answers the event with its numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import urllib.parse
from typing import Any

from aiohttp import web

from gateway import settings as settings_mod
from gateway.api import bodies, capability, errors, keys, qrcodes, responses
from gateway.api.models import events
from gateway.domain import kinds, marketing, redirects
from gateway.store import accounts as accounts_store
from gateway.store import events as store

SCENE_PREFIX = "evt-"  # check-in scenes; other scans never touch the events tables


def new_scene() -> str:
    return SCENE_PREFIX + secrets.token_hex(8)


def page_url(settings: settings_mod.Settings, account_id: str, event_id: int, page: str) -> str:
    return f"{settings.public_base()}/events/{account_id}/{event_id}/{page}"


def survey_link(settings: settings_mod.Settings, event: store.Event) -> str:
    """The survey template's link: the gateway's form, or OAuth single sign-on to the
    external survey (which receives openid, issued_at and signature)."""
    if event.survey_url is None:
        return page_url(settings, event.account_id, event.id, "survey")
    query = urllib.parse.urlencode({"redirect": event.survey_url, "scope": "snsapi_base"})
    return f"{settings.public_base()}/oauth/{event.account_id}/authorize?{query}"


def event_id(request: web.Request) -> int:
    value = request.match_info["event_id"]
    if not value.isascii() or not value.isdigit() or not 0 < int(value) < 2**63:
        raise errors.ApiError("not_found", "no such event")
    return int(value)


def _survey_host_allowed(account: accounts_store.Account, url: str) -> bool:
    # The link goes through /oauth/{id}/authorize: the same allow-list check, up front.
    return redirects.allowed(url, account.oauth_redirect_hosts)


def _resource(
    settings: settings_mod.Settings, event: store.Event, stats: store.Stats
) -> events.Event:
    return events.Event(
        id=event.id,
        account_id=event.account_id,
        name=event.name,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        capacity=event.capacity,
        reminder_offsets=list(event.reminder_offsets),
        reminder_template=event.reminder_template,
        welcome_text=event.welcome_text,
        survey_url=event.survey_url,
        survey_template=event.survey_template,
        qrcode=events.EventQrCode(
            ticket=event.qr_ticket,
            url=event.qr_url,
            scene=event.qr_scene,
            expires_at=event.qr_expires_at,
            image_url=qrcodes.image_url(settings, event.qr_ticket),
        ),
        registration_url=page_url(settings, event.account_id, event.id, "register"),
        survey_link=survey_link(settings, event),
        stats=events.EventStats(**dataclasses.asdict(stats)),
        created_at=event.created_at,
    )


def _template(template: Any) -> dict[str, Any] | None:
    if template is None:
        return None
    dumped: dict[str, Any] = template.model_dump(mode="json", exclude_none=True)
    return dumped


async def create_event(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    body = await bodies.read_json(request, events.NewEvent)
    app, settings = request.app, request.app[keys.SETTINGS]
    account = await accounts_store.get_account(app[keys.POOL], account_id)
    capability.require(account.kind, kinds.Capability.MARKETING_EVENTS)
    if body.survey_url is not None and not _survey_host_allowed(account, body.survey_url):
        raise errors.ApiError(
            "validation_error",
            "request is invalid",
            [
                {
                    "type": "value_error",
                    "loc": ["survey_url"],
                    "msg": "survey_url must be an http(s) URL on one of the account's "
                    "oauth_redirect_hosts",
                }
            ],
        )
    seconds = marketing.qr_expire_seconds(body.ends_at, dt.datetime.now(dt.UTC))
    qr = await qrcodes.create_temporary(app, account, new_scene(), seconds)
    assert qr.expires_at is not None  # a temporary code expires
    event = await store.create_event(
        app[keys.POOL],
        account_id,
        store.NewEvent(
            name=body.name,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            capacity=body.capacity,
            reminder_offsets=list(body.reminder_offsets),
            reminder_template=_template(body.reminder_template),
            welcome_text=body.welcome_text or f"Welcome to {body.name}! You are checked in.",
            survey_url=body.survey_url,
            survey_template=_template(body.survey_template),
            qr_scene=qr.scene,
            qr_ticket=qr.ticket,
            qr_url=qr.url,
            qr_expires_at=qr.expires_at,
        ),
    )
    stats = await store.event_stats(app[keys.POOL], account_id, event.id)
    return responses.ok(_resource(settings, event, stats), status=201)


async def get_event(request: web.Request) -> web.Response:
    account_id, wanted = bodies.account_id(request), event_id(request)
    pool = request.app[keys.POOL]
    event = await store.get_event(pool, account_id, wanted)
    stats = await store.event_stats(pool, account_id, wanted)
    return responses.ok(_resource(request.app[keys.SETTINGS], event, stats))
