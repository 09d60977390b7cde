"""WeRoBot 1.13 answering the same callbacks with `success`, no storage (run under gunicorn)."""

from __future__ import annotations

import os

import werobot  # type: ignore[import-untyped]

robot = werobot.WeRoBot(token=os.environ.get("WX_TOKEN", "benchtoken"), enable_session=False)


@robot.handler  # type: ignore[untyped-decorator]
def answer(message: object) -> None:
    return None  # WeRoBot answers an empty body: "handled", like our `success`


application = robot.wsgi
