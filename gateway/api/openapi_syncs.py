"""The OpenAPI operations of follower syncs and tags (SPEC 9)."""

from __future__ import annotations

from gateway.api.models import syncs
from gateway.api.openapi_ops import Operation

_ACC = "/api/v1/accounts"
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        _ACC + "/{id}/followers/sync",
        "startFollowerSync",
        "Start a follower sync from WeChat (202); 409 sync_running while one runs",
        {202: ("started", syncs.SyncStarted)},
        (404, 409),
        syncs.NewSync,
    ),
    Operation(
        "get",
        _ACC + "/{id}/followers/sync/{sync_id}",
        "getFollowerSync",
        "A follower sync's status and progress",
        {200: ("the sync", syncs.FollowerSync)},
        (404,),
    ),
    Operation(
        "get",
        _ACC + "/{id}/tags",
        "listTags",
        "The account's tags (as of the last sync or change through this API)",
        {200: ("the tags", syncs.TagList)},
        (404,),
    ),
    Operation(
        "post",
        _ACC + "/{id}/tags",
        "createTag",
        "Create a tag on WeChat (409 conflict: name exists; tag_limit_reached: 100 tags)",
        {201: ("created", syncs.Tag)},
        (404, 409, 502),
        syncs.NewTag,
    ),
    Operation(
        "delete",
        _ACC + "/{id}/tags/{tag_id}",
        "deleteTag",
        "Delete a tag on WeChat and from every follower",
        {200: ("the deleted tag", syncs.Tag)},
        (404, 409, 502),
    ),
    Operation(
        "post",
        _ACC + "/{id}/tags/{tag_id}/members",
        "tagFollowers",
        "Tag followers, 50 per WeChat call (409 too_many_tags: over 20 for a follower)",
        {200: ("tagged", syncs.TagMembersResult)},
        (404, 409, 502),
        syncs.TagMembers,
    ),
    Operation(
        "delete",
        _ACC + "/{id}/tags/{tag_id}/members",
        "untagFollowers",
        "Untag followers, 50 per WeChat call",
        {200: ("untagged", syncs.TagMembersResult)},
        (404, 409, 502),
        syncs.TagMembers,
    ),
)
