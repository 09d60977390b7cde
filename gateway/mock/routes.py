"""Every route of the mock platform, in one place."""

from __future__ import annotations

from aiohttp import web

from gateway.mock import (
    actions,
    calls,
    control,
    mass,
    menus,
    messages,
    oauth,
    pay,
    paysend,
    qrcodes,
    tags,
    tokens,
    users,
)


def setup_routes(app: web.Application) -> None:
    router = app.router
    # The platform API, at the platform's own paths.
    router.add_post("/cgi-bin/stable_token", tokens.stable_token)
    router.add_get("/cgi-bin/token", tokens.classic_token)
    api = {
        messages.CUSTOM_PATH: messages.custom_send,
        messages.TEMPLATE_PATH: messages.template_send,
        mass.SEND_PATH: mass.send,
        mass.SENDALL_PATH: mass.sendall,
        "/cgi-bin/tags/create": tags.create,
        "/cgi-bin/tags/delete": tags.delete,
        "/cgi-bin/tags/members/batchtagging": tags.tag_members,
        "/cgi-bin/tags/members/batchuntagging": tags.untag_members,
        "/cgi-bin/tags/update": tags.update,
        "/cgi-bin/user/tag/get": tags.members,
        "/cgi-bin/tags/getidlist": tags.id_list,
        users.BATCHGET_PATH: users.batchget,
        qrcodes.CREATE_PATH: qrcodes.create,
        paysend.REDPACK_PATH: paysend.send_redpack,
        paysend.COUPON_PATH: paysend.send_coupon,
        menus.CREATE_PATH: menus.create,
    }
    for path, rule in api.items():
        router.add_post(path, calls.endpoint(path, rule))
    tags_get = calls.endpoint("/cgi-bin/tags/get", tags.list_tags, json_body=False)
    router.add_get("/cgi-bin/tags/get", tags_get)
    router.add_post("/cgi-bin/tags/get", tags_get)
    for path, rule in ((users.GET_PATH, users.get_list), (users.INFO_PATH, users.get_info)):
        router.add_get(path, calls.endpoint(path, rule, json_body=False))
    for path, rule in ((menus.GET_PATH, menus.get), (menus.DELETE_PATH, menus.delete)):
        handler = calls.endpoint(path, rule, json_body=False)
        router.add_get(path, handler)
        router.add_post(path, handler)
    router.add_get(qrcodes.SHOW_PATH, qrcodes.show)
    router.add_get(oauth.AUTHORIZE_PATH, oauth.authorize)
    router.add_get(oauth.EXCHANGE_PATH, oauth.exchange)
    router.add_get(oauth.USERINFO_PATH, oauth.userinfo)
    # The mock's own control and inspection API.
    router.add_post("/_mock/accounts", control.register)
    router.add_get("/_mock/accounts", control.list_accounts)
    router.add_get("/_mock/accounts/{app_id}", control.show_account)
    router.add_patch("/_mock/accounts/{app_id}", control.patch_account)
    router.add_post("/_mock/accounts/{app_id}/tokens/invalidate", control.invalidate_tokens)
    router.add_get("/_mock/accounts/{app_id}/sent", control.sent)
    router.add_delete("/_mock/accounts/{app_id}/sent", control.clear_sent)
    router.add_get("/_mock/accounts/{app_id}/callbacks", control.callbacks)
    router.add_delete("/_mock/accounts/{app_id}/callbacks", control.clear_callbacks)
    router.add_post("/_mock/accounts/{app_id}/followers/seed", users.seed)
    router.add_get("/_mock/accounts/{app_id}/followers/{openid}", actions.show)
    router.add_post("/_mock/accounts/{app_id}/followers/{openid}/actions", actions.act)
    router.add_get("/_mock/accounts/{app_id}/payments", pay.payments)
    router.add_post("/_mock/accounts/{app_id}/payments/{transaction_id}/notify", pay.renotify)
    router.add_get("/_mock/pay/certificate", pay.certificate)
    router.add_post("/_mock/faults", control.add_fault)
    router.add_get("/_mock/faults", control.list_faults)
    router.add_delete("/_mock/faults", control.clear_faults)
