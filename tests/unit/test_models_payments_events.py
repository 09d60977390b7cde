"""Validation of the payment and event requests (the API's pydantic models)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pydantic
import pytest

from gateway.api.models import events, messages, payments
from tests import paykeys

OPENID = "oAbCdEfGhIjKlMnOpQr000000001"


def _message(**fields: Any) -> pydantic.BaseModel:
    parsed = messages.NewMessage.model_validate_json(json.dumps(fields), strict=True)
    return parsed.root


def _red_pack(**red_pack: Any) -> dict[str, Any]:
    body = {"amount": 100, "wishing": "Thank you!", "act_name": "Spring fair", **red_pack}
    return {"type": "red_pack", "to": OPENID, "red_pack": body}


@pytest.mark.parametrize("amount", [100, 888, 20_000])
def test_red_pack_amounts_within_wechats_limits(amount: int) -> None:
    message = _message(**_red_pack(amount=amount))
    assert isinstance(message, messages.RedPackMessage)
    assert message.red_pack.amount == amount


@pytest.mark.parametrize(
    "red_pack",
    [
        {"amount": 99},
        {"amount": 20_001},
        {"amount": "100"},  # strict: no coercion
        {"amount": 100.0},
        {"wishing": ""},
        {"wishing": "x" * 129},
        {"act_name": "x" * 33},
        {"send_name": "x" * 33},
        {"remark": "x" * 257},
        {"unknown": 1},
    ],
)
def test_invalid_red_packs(red_pack: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        _message(**_red_pack(**red_pack))


def test_red_pack_needs_all_of_amount_wishing_act_name() -> None:
    for missing in ("amount", "wishing", "act_name"):
        body = _red_pack()
        del body["red_pack"][missing]
        with pytest.raises(pydantic.ValidationError):
            _message(**body)


def test_coupons() -> None:
    message = _message(type="coupon", to=OPENID, coupon={"stock_id": "9856888"})
    assert isinstance(message, messages.CouponMessage)
    for stock in ("", "has space", "x" * 65):
        with pytest.raises(pydantic.ValidationError):
            _message(type="coupon", to=OPENID, coupon={"stock_id": stock})


def test_pay_config() -> None:
    config = payments.PayConfig.model_validate(
        {
            "mch_id": "1900000109",
            "apiv3_key": paykeys.APIV3_KEY,
            "platform_certificate": paykeys.pem(),
        }
    )
    assert config.mch_id == "1900000109"
    assert payments.PayConfig.model_validate({}).model_fields_set == set()
    for bad in (
        {"mch_id": "19000x"},
        {"apiv3_key": "short"},
        {"apiv3_key": "0123456789abcdef0123456789abcde!"},
        {"platform_certificate": "not a certificate"},
        {"platform_certificate": paykeys.pem().replace("A", "B", 5)},
    ):
        with pytest.raises(pydantic.ValidationError):
            payments.PayConfig.model_validate(bad)


def _event(**fields: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    body: dict[str, Any] = {
        "name": "Spring fair",
        "starts_at": (now + dt.timedelta(days=1)).isoformat(),
        "ends_at": (now + dt.timedelta(days=1, hours=3)).isoformat(),
        "capacity": 100,
        "reminder_offsets": [3600],
        "reminder_template": {"template_id": "tpl-remind", "data": {"thing1": {"value": "x"}}},
    }
    body.update(fields)
    return body


def test_event_request() -> None:
    event = events.NewEvent.model_validate_json(json.dumps(_event()), strict=True)
    assert event.reminder_offsets == [3600] and event.survey_template is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reminder_template": None}, "need a reminder_template"),
        ({"capacity": 0}, "greater than or equal to 1"),
        ({"name": ""}, "at least 1"),
        ({"ends_at": "2020-01-01T00:00:00+00:00"}, "ends_at must be after starts_at"),
        ({"starts_at": "2020-01-01T00:00:00+00:00"}, "starts_at must be in the future"),
        ({"starts_at": "2030-01-01T00:00:00"}, "timezone"),
        ({"reminder_offsets": [60, 60]}, "distinct"),
        ({"reminder_offsets": [0]}, "greater than or equal to 1"),
    ],
)
def test_invalid_events(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        events.NewEvent.model_validate_json(json.dumps(_event(**fields)), strict=True)


def test_events_end_at_most_30_days_ahead() -> None:
    now = dt.datetime.now(dt.UTC)
    far = {
        "starts_at": (now + dt.timedelta(days=29)).isoformat(),
        "ends_at": (now + dt.timedelta(days=31)).isoformat(),
    }
    with pytest.raises(pydantic.ValidationError, match="30 days"):
        events.NewEvent.model_validate_json(json.dumps(_event(**far)), strict=True)
