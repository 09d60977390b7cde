"""Every exception class defined in gateway (the mock aside) and scheduler has the one root,
gateway.errors.WxgateError; the few that do not are listed here with the reason."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import gateway
import scheduler
from gateway import errors

# Not rooted, on purpose or for now (module.qualname -> why).
EXEMPT = {
    # aiohttp must see a refused webhook destination as a connection failure (an OSError).
    "gateway.webhook_net.RefusedDestination": "an OSError for aiohttp",
}


def _modules() -> list[str]:
    names = []
    for package in (gateway, scheduler):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.startswith("gateway.mock") and not info.name.endswith(".__main__"):
                names.append(info.name)
    return names


def _defined_errors() -> list[str]:
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name and issubclass(cls, BaseException):
                found.append(f"{name}.{cls.__qualname__}")
    return sorted(found)


def _resolve(path: str) -> type[BaseException]:
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type) and issubclass(cls, BaseException)
    return cls


def test_every_error_class_has_the_one_root() -> None:
    unrooted = [
        path
        for path in _defined_errors()
        if path not in EXEMPT and not issubclass(_resolve(path), errors.WxgateError)
    ]
    assert unrooted == []


def test_the_exemptions_still_exist_and_are_unrooted() -> None:
    defined = _defined_errors()
    for path in EXEMPT:
        assert path in defined
        assert not issubclass(_resolve(path), errors.WxgateError)
