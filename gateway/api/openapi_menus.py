"""The OpenAPI operations of the custom menu (SPEC 8)."""

from __future__ import annotations

from gateway.api.models import menus
from gateway.api.openapi_ops import Operation

_MENU = "/api/v1/accounts/{id}/menu"
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "put",
        _MENU,
        "putMenu",
        "Set the custom menu in WeChat's format (202): checked here (422 names the path, such "
        "as button[1].sub_button[2].key), then applied by a worker with /cgi-bin/menu/create, "
        "retried like a message",
        {202: ("accepted", menus.MenuAccepted)},
        (404,),
        menus.MenuIn,
    ),
    Operation(
        "get",
        _MENU,
        "getMenu",
        "The menu with its state (pending, applied, failed with WeChat's errcode and errmsg, "
        "deleting) and applied_at; 404 when the account has none",
        {200: ("the menu", menus.Menu)},
        (404,),
    ),
    Operation(
        "delete",
        _MENU,
        "deleteMenu",
        "Remove the menu (202): a worker calls /cgi-bin/menu/delete, then GET answers 404",
        {202: ("accepted", menus.MenuAccepted)},
        (404,),
    ),
)
