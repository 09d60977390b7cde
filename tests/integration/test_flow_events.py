"""A marketing event's whole life through the mock platform (C5), with a clock the test
moves for the release worker: creation with its check-in QR code, registration
through OAuth up to capacity, reminders before the start, onsite check-in by scanning (with
a welcome message), the survey template after the end, and the survey form."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from tests.integration import flows
from tests.integration import sched_helpers as h

FAIR = "wx00000000000005f1"
TEMPLATE = "/cgi-bin/message/template/send"
CUSTOM = "/cgi-bin/message/custom/send"
ANN, BOB, CAT, DAN = (f"oFollower{n}000000000000000000" for n in range(4))


def _event(start: dt.datetime, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Spring <fair>",
        "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
        "capacity": 2,
        "reminder_offsets": [3600],
        "reminder_template": {
            "template_id": "tpl-reminder",
            "data": {"thing1": {"value": "Spring fair"}, "time2": {"value": "14:00"}},
        },
        "survey_template": {"template_id": "tpl-survey", "data": {"thing1": {"value": "How?"}}},
    }
    body.update(fields)
    return body


async def _delivered(stack: flows.Stack, path: str) -> list[dict[str, Any]]:
    """What the platform accepted (a call refused for a token the clock aged is retried)."""
    return [r for r in await stack.sent(FAIR, path) if r["delivered"]]


async def _stats(stack: flows.Stack, event_id: int) -> dict[str, int]:
    status, event = await stack.api("GET", f"/api/v1/accounts/fair/events/{event_id}")
    assert status == 200, event
    stats: dict[str, int] = event["stats"]
    return stats


async def test_an_events_whole_life(db_url: str, pool: asyncpg.Pool) -> None:
    start = flows.now() + dt.timedelta(hours=2)
    clock = h.Clock(flows.now())
    async with flows.stack(db_url, pool, clock) as stack:
        await stack.account("fair", "service", FAIR)
        for follower in (ANN, BOB, DAN):
            await stack.act(FAIR, follower, "subscribe")

        status, event = await stack.api("POST", "/api/v1/accounts/fair/events", _event(start))
        assert status == 201, event
        event_id, scene = event["id"], event["qrcode"]["scene"]
        qr_end = dt.datetime.fromisoformat(event["qrcode"]["expires_at"])
        assert abs(qr_end - dt.datetime.fromisoformat(event["ends_at"])) < dt.timedelta(seconds=5)
        assert event["registration_url"] == f"{stack.gateway}/events/fair/{event_id}/register"
        assert event["survey_link"] == f"{stack.gateway}/events/fair/{event_id}/survey"
        assert event["welcome_text"] == "Welcome to Spring <fair>! You are checked in."

        # Registration: OAuth (snsapi_base), then the confirmation page; once per follower,
        # up to capacity.
        status, page, _ = await stack.browse(event["registration_url"], ANN)
        assert status == 200 and "You are registered for Spring &lt;fair&gt;" in page
        status, page, _ = await stack.browse(event["registration_url"], ANN)
        assert status == 200 and "already registered" in page
        status, page, _ = await stack.browse(event["registration_url"], BOB)
        assert status == 200 and "You are registered" in page
        status, page, _ = await stack.browse(event["registration_url"], DAN)
        assert status == 409 and "is full" in page
        stats = await _stats(stack, event_id)
        assert (stats["registered"], stats["reminders_queued"]) == (2, 2)

        # Nothing before the reminder's time; at start - 1 h both registrants get it.
        await stack.drain()
        assert await _delivered(stack, TEMPLATE) == []
        clock.set(start - dt.timedelta(hours=1) + dt.timedelta(seconds=1))
        await stack.drain()
        reminders = await _delivered(stack, TEMPLATE)
        assert sorted(r["body"]["touser"] for r in reminders) == sorted([ANN, BOB])
        assert {r["body"]["template_id"] for r in reminders} == {"tpl-reminder"}
        assert (await _stats(stack, event_id))["reminders_sent"] == 2

        # Onsite: Ann scans the event's code (SCAN, she follows); Cat, a walk-in who does
        # not follow yet, scans too (subscribe with qrscene_). Both are checked in and
        # welcomed: the scan opened their window.
        clock.set(start + dt.timedelta(minutes=5))
        await stack.act(FAIR, ANN, "scan", scene=scene)
        await stack.act(FAIR, CAT, "scan", scene=scene)
        await stack.act(FAIR, ANN, "scan", scene=scene)  # scanning again changes nothing
        await stack.drain()
        welcomes = await _delivered(stack, CUSTOM)
        assert sorted(r["body"]["touser"] for r in welcomes) == sorted([ANN, CAT])
        assert {r["body"]["text"]["content"] for r in welcomes} == {event["welcome_text"]}
        stats = await _stats(stack, event_id)
        assert (stats["checked_in"], stats["walk_ins"], stats["welcomes_sent"]) == (2, 1, 2)
        assert stats["surveys_queued"] == 2

        # After the end, everyone checked in gets the survey template with its link.
        clock.set(start + dt.timedelta(hours=2, seconds=1))
        await stack.drain()
        surveys = [
            r for r in await _delivered(stack, TEMPLATE) if r["body"]["template_id"] == "tpl-survey"
        ]
        assert sorted(r["body"]["touser"] for r in surveys) == sorted([ANN, CAT])
        assert {r["body"]["url"] for r in surveys} == {event["survey_link"]}

        # The survey form, reached through OAuth; answered once.
        status, page, _ = await stack.browse(event["survey_link"], ANN)
        assert status == 200 and "<form" in page, page
        form = flows.form_of(page)
        assert form.fields["openid"] == ANN
        answer = {**form.fields, "rating": "5", "comment": "Great fair"}
        status, page = await stack.post_form(form.action, answer)
        assert status == 200 and "Thank you" in page
        status, page = await stack.post_form(form.action, {**answer, "rating": "1"})
        assert status == 200 and "answered already" in page
        status, page, _ = await stack.browse(event["survey_link"], ANN)
        assert "answered already" in page
        status, page, _ = await stack.browse(event["survey_link"], BOB)  # never checked in
        assert status == 403 and "attendees who checked in" in page
        stored = await pool.fetch("SELECT openid, answers FROM survey_answers")
        assert [(r["openid"], r["answers"]) for r in stored] == [
            (ANN, {"rating": 5, "comment": "Great fair"})
        ]

        assert await _stats(stack, event_id) == {
            "registered": 2,
            "walk_ins": 1,
            "checked_in": 2,
            "reminders_queued": 2,
            "reminders_sent": 2,
            "welcomes_sent": 2,
            "surveys_queued": 2,
            "surveys_sent": 2,
            "surveys_answered": 1,
        }
