"""In-app notifications (通知), beside the digests: written by the services where the events
happen, read and marked read by their recipient.

Events and who hears of them:
- new matches after a nightly: the brokers who follow each challenge (as the digest chooses);
- a new 揭榜 application: the challenge's brokers and its firm's users;
- a match shared with a firm: the firm's users;
- a challenge's status changed: its firm's users (unless they changed it themselves) and the
  solver accounts that applied to it.
A challenge's brokers are those who decided on, shared or curated it; every broker when nobody has.
Each notice links to the page to open (a challenge's detail page, 我的需求, 我的揭榜).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from jiebang.accounts import SHOWN_TZ, User, ensure_permission
from warehouse import notifications as store
from warehouse.board import ref_of
from warehouse.gateway import Row, Warehouse
from warehouse.store import now_utc

KIND_LABELS = {"new_matches": "新匹配", "application": "揭榜申请", "shared": "经纪人推荐", "status": "状态变更"}
TITLE_CHARS = 40  # a challenge's title in a notice's one line


def shown_time(at: datetime) -> str:
    """A stored time (naive UTC) as users read it: 北京时间, to the minute."""
    return at.replace(tzinfo=UTC).astimezone(SHOWN_TZ).strftime("%Y-%m-%d %H:%M")


def _short(title: str | None) -> str:
    title = " ".join(str(title or "").split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def _firm_link(challenge_id: str) -> str:
    return "firm_challenges?" + urlencode({"challenge": challenge_id})


def _challenge_link(challenge_id: str) -> str:
    return f"challenge?id={ref_of(challenge_id)}"


# --- reading (the recipient) -------------------------------------------------------------------


def mine(warehouse: Warehouse, user: User | None, *, unread_only: bool = False, limit: int = 50) -> list[Row]:
    """The signed-in user's notifications, newest first, each with its kind's label."""
    me = ensure_permission(warehouse, user, "view_notifications")
    rows = store.for_user(warehouse, me.username, unread_only=unread_only, limit=limit)
    for row in rows:
        row["kind_label"] = KIND_LABELS.get(row["kind"], row["kind"])
    return rows


def unread_count(warehouse: Warehouse, user: User | None) -> int:
    """How many of the signed-in user's notifications are unread (0 for a guest)."""
    if user is None:
        return 0
    me = ensure_permission(warehouse, user, "view_notifications")
    return store.unread_count(warehouse, me.username)


def mark_read(
    warehouse: Warehouse, user: User | None, ids: Sequence[int] | None = None, *, now: datetime | None = None
) -> int:
    """Mark the signed-in user's notifications `ids` (None: all) read; another user's ids are left
    alone. Returns how many were marked."""
    me = ensure_permission(warehouse, user, "view_notifications")
    return store.mark_read(warehouse, me.username, ids, now=now or now_utc())


# --- writing (the services, where the events happen) ----------------------------------------------


def new_matches(warehouse: Warehouse, by_broker: Mapping[str, Sequence[Mapping[str, Any]]], *, now: datetime) -> int:
    """After a nightly: per broker, one notice per challenge with new matches (the digest's rows,
    grouped by broker as jiebang.digest.per_broker groups them). Returns how many were written."""
    notices = []
    for broker, rows in sorted(by_broker.items()):
        per_challenge: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            per_challenge.setdefault(row["challenge_id"], []).append(row)
        for challenge_id, found in per_challenge.items():
            best = max(float(r["score"]) for r in found)
            notices.append(
                (
                    broker,
                    {
                        "kind": "new_matches",
                        "title": f"「{_short(found[0]['challenge_title'])}」有 {len(found)} 个新匹配",
                        "body": f"最高匹配分 {best:.0f}，请在「匹配审核」中查看。",
                        "link": _challenge_link(challenge_id),
                    },
                )
            )
    return store.add_many(warehouse, notices, now=now)


def application_received(
    warehouse: Warehouse, challenge_id: str, application_id: int, team: str, *, now: datetime
) -> int:
    """A solver applied: the challenge's brokers and its firm hear of it."""
    people = store.challenge_people(warehouse, challenge_id)
    notice = {
        "kind": "application",
        "title": f"「{_short(people['title'])}」收到新的揭榜申请",
        "body": f"揭榜方：{_short(team)}（申请编号 {application_id}）",
        "link": _challenge_link(challenge_id),
    }
    return store.add(warehouse, [*people["brokers"], *people["firm"]], notice, now=now)


def match_shared(warehouse: Warehouse, challenge_id: str, listing_title: str, broker: User, *, now: datetime) -> int:
    """A broker shared a match: the firm's users hear of it, and from whom."""
    people = store.challenge_people(warehouse, challenge_id)
    notice = {
        "kind": "shared",
        "title": f"技术经纪人{_short(broker.display_name)}为「{_short(people['title'])}」推荐了成果",
        "body": f"推荐成果：{_short(listing_title)}",
        "link": _firm_link(challenge_id),
    }
    return store.add(warehouse, people["firm"], notice, now=now)


def status_changed(
    warehouse: Warehouse, challenge_id: str, before: str, after: str, *, actor: str, now: datetime
) -> int:
    """A challenge moved in its lifecycle: its firm (unless the firm did it) and the solver
    accounts that applied to it hear of it."""
    people = store.challenge_people(warehouse, challenge_id)
    title = f"「{_short(people['title'])}」状态：{before} → {after}"
    written = store.add(
        warehouse,
        [u for u in people["firm"] if u != actor],
        {"kind": "status", "title": title, "link": _firm_link(challenge_id)},
        now=now,
    )
    return written + store.add(
        warehouse,
        store.applicants(warehouse, challenge_id),
        {"kind": "status", "title": title, "body": "您揭榜的需求状态已更新。", "link": "my_applications"},
        now=now,
    )
