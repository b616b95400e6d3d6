"""The public board (全球破题): published challenges as solvers may see them, and their 揭榜
applications.

Anonymity: for a challenge that is anonymous and not revealed the issuer is 匿名企业 and the
source link and the challenge id are not selected; its texts leave this module only through the
caller's `redact` (jiebang.solver cuts the firm's names out with jiebang.anonymity), and a search
of them is the caller's, in the redacted text (`hidden_open` reads them for that). A board row is
known by `ref`, a hash of the challenge id (posted challenge ids may carry the firm's name).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from warehouse.domain import OPEN_STATUSES
from warehouse.gateway import Row, Warehouse, fetch_rows
from warehouse.store import append_audit

ANONYMOUS_FIRM = "匿名企业"


def ref_of(challenge_id: str) -> str:
    """A challenge's `ref` as the SQL here computes it: sha256 of its id, the first 16 hex digits."""
    return hashlib.sha256(challenge_id.encode("utf-8")).hexdigest()[:16]


_HIDDEN = "(c.anonymous AND NOT c.revealed)"


_PUBLIC_COLUMNS = f"""
    substr(sha256(c.challenge_id), 1, 16) AS ref,
    c.title, c.description, coalesce(c.targets, '') AS targets, coalesce(c.cooperation, '') AS cooperation,
    c.field, c.budget_wan, c.deadline, c.region,
    CASE WHEN {_HIDDEN} THEN '{ANONYMOUS_FIRM}' ELSE coalesce(c.firm, c.issuer, '') END AS issuer,
    CASE WHEN {_HIDDEN} THEN NULL ELSE c.url END AS url,
    CAST(c.first_seen AS DATE) AS published_on
"""
# For `redact` only: popped from every row before it is returned.
_NAME_COLUMNS = f"{_HIDDEN} AS _hidden, c.firm AS _firm, c.issuer AS _issuer, p.english_name AS _english_name"
_TEXTS = ("title", "description", "targets", "cooperation")
_OPEN = "list_contains($open, c.status) AND (c.deadline IS NULL OR c.deadline >= $today)"
_OPEN_STATUSES = list(OPEN_STATUSES)

Redactor = Callable[[Mapping[str, Any]], Mapping[str, Any]]
# The board's orders: a fixed clause per name, never text from the caller (面议 sorts last).
BOARD_ORDERS = {
    "newest": "c.first_seen DESC",
    "budget_desc": "c.budget_wan DESC NULLS LAST, c.first_seen DESC",
    "budget_asc": "c.budget_wan ASC NULLS LAST, c.first_seen DESC",
    "deadline": "c.deadline ASC NULLS LAST, c.first_seen DESC",
}
# A region's province (or municipality): what the board filters by.
# A region named without one (嘉善县) is its own entry.
_PROVINCE = r"coalesce(nullif(regexp_extract(c.region, '^(.{2,7}?(?:省|自治区|市|特别行政区))', 1), ''), c.region)"


def hidden_open(warehouse: Warehouse, *, today: date, field: str | None = None) -> list[Row]:
    """The open published challenges whose firm is hidden, with their raw texts and the names to
    cut out of them (firm, issuer, english_name): for redacting and searching, never to show."""
    return warehouse.query(
        "SELECT c.challenge_id, c.title, c.description, coalesce(c.targets, '') AS targets,"
        " coalesce(c.cooperation, '') AS cooperation, c.firm, c.issuer, p.english_name"
        " FROM challenges c LEFT JOIN firm_profiles p ON p.firm = c.firm"
        f" WHERE {_OPEN} AND {_HIDDEN} AND ($field IS NULL OR c.field = $field)",
        {"open": _OPEN_STATUSES, "today": today, "field": field},
    )


def published(
    warehouse: Warehouse,
    *,
    today: date,
    redact: Redactor,
    field: str | None = None,
    search: str | None = None,
    hidden_shown: list[str] | None = None,
    region: str | None = None,
    budget_min: float | None = None,
    budget_max: float | None = None,
    order: str = "newest",
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Row], int]:
    """One page of open published challenges (newest first) as solvers see them, and how many
    there are. `search` matches part of the title or description of the public ones. The hidden
    ones (anonymous, not revealed) are all listed, or with `hidden_shown` (challenge ids) only
    those: a search of their raw text would let a search for a firm's name reveal which anonymous
    challenge is theirs. Each hidden row's texts are replaced by `redact(row)`, which gets the row
    with the names to cut out (firm, issuer, english_name) and returns the texts to show.
    `region` keeps the challenges whose region starts with it (a province: 浙江省); a budget bound
    keeps those with a 榜额 within it (面议 has none, so it drops out); `order` is one of
    BOARD_ORDERS."""
    rows = warehouse.query(
        f"SELECT {_PUBLIC_COLUMNS}, {_NAME_COLUMNS}, count(*) OVER () AS total"
        " FROM challenges c LEFT JOIN firm_profiles p ON p.firm = c.firm"
        f" WHERE {_OPEN} AND ($field IS NULL OR c.field = $field)"
        f" AND CASE WHEN {_HIDDEN} THEN ($hidden_shown IS NULL OR list_contains($hidden_shown, c.challenge_id))"
        " ELSE ($search IS NULL OR contains(c.title, $search) OR contains(c.description, $search)) END"
        " AND ($region IS NULL OR starts_with(c.region, $region))"
        " AND ($budget_min IS NULL OR c.budget_wan >= $budget_min)"
        " AND ($budget_max IS NULL OR c.budget_wan <= $budget_max)"
        f" ORDER BY {BOARD_ORDERS[order]}, c.challenge_id LIMIT $limit OFFSET $offset",
        {
            "open": _OPEN_STATUSES,
            "today": today,
            "field": field,
            "search": search,
            "hidden_shown": None if hidden_shown is None else list(hidden_shown),
            "region": region,
            "budget_min": budget_min,
            "budget_max": budget_max,
            "limit": limit,
            "offset": offset,
        },
    )
    total = int(rows[0]["total"]) if rows else 0
    for row in rows:
        row.pop("total")
        names = {k: row.pop(f"_{k}") for k in ("firm", "issuer", "english_name")}
        if row.pop("_hidden"):
            texts = redact({**row, **names})
            row.update({k: texts[k] for k in _TEXTS})
    return rows, total


def expired_count(warehouse: Warehouse, *, today: date) -> int:
    """How many published challenges are past their deadline (已截止): no longer on the board."""
    rows = warehouse.query(
        "SELECT count(*) AS n FROM challenges c"
        " WHERE list_contains($open, c.status) AND c.deadline IS NOT NULL AND c.deadline < $today",
        {"open": _OPEN_STATUSES, "today": today},
    )
    return int(rows[0]["n"])


def board_fields(warehouse: Warehouse, *, today: date) -> list[str]:
    rows = warehouse.query(
        f"SELECT DISTINCT c.field FROM challenges c WHERE {_OPEN} AND c.field IS NOT NULL ORDER BY 1",
        {"open": _OPEN_STATUSES, "today": today},
    )
    return [r["field"] for r in rows]


def board_regions(warehouse: Warehouse, *, today: date) -> list[str]:
    """The provinces (浙江省, 上海市 …) of the open published challenges, for the region filter."""
    rows = warehouse.query(
        f"SELECT DISTINCT {_PROVINCE} AS province FROM challenges c WHERE {_OPEN} AND c.region IS NOT NULL ORDER BY 1",
        {"open": _OPEN_STATUSES, "today": today},
    )
    return [r["province"] for r in rows if r["province"]]


def published_one(warehouse: Warehouse, ref: str, *, today: date, redact: Redactor) -> Row | None:
    """The open published challenge known by `ref`, exactly as its board row shows it (the same
    columns, the same anonymity); None when `ref` is unknown or the challenge is not on the board."""
    rows = warehouse.query(
        f"SELECT {_PUBLIC_COLUMNS}, {_NAME_COLUMNS}"
        " FROM challenges c LEFT JOIN firm_profiles p ON p.firm = c.firm"
        f" WHERE {_OPEN} AND substr(sha256(c.challenge_id), 1, 16) = $ref",
        {"open": _OPEN_STATUSES, "today": today, "ref": ref},
    )
    if not rows:
        return None
    row = rows[0]
    names = {k: row.pop(f"_{k}") for k in ("firm", "issuer", "english_name")}
    if row.pop("_hidden"):
        texts = redact({**row, **names})
        row.update({k: texts[k] for k in _TEXTS})
    return row


def insert_application(
    warehouse: Warehouse,
    ref: str,
    record: Mapping[str, Any],
    *,
    client_key: str,
    now: datetime,
    since: datetime,
    duplicate_since: datetime,
    today: date,
    check: Callable[[Row | None, int, int], None],
    applicant: str | None = None,
) -> int:
    """Store one application to the open challenge known by `ref`, with its audit line ("apply").

    `check(challenge, recent, same)` runs inside the transaction with the challenge (None when
    `ref` is unknown or no longer open), the number of applications from `client_key` to that
    challenge since `since`, and the number of identical applications (same challenge, contact and proposal, from
    any session) since `duplicate_since`; it raises to refuse. `applicant`: the solver account that
    sent it (None: sent without one). Returns the application id."""
    with warehouse.transaction() as con:
        found = fetch_rows(
            con,
            f"SELECT c.challenge_id FROM challenges c WHERE {_OPEN} AND substr(sha256(c.challenge_id), 1, 16) = $ref",
            {"open": _OPEN_STATUSES, "today": today, "ref": ref},
        )
        recent = (
            fetch_rows(
                con,
                "SELECT count(*) AS n FROM applications WHERE client_key = ? AND challenge_id = ?"
                " AND submitted_at >= ?",
                [client_key, found[0]["challenge_id"], since],
            )[0]["n"]
            if found
            else 0
        )
        same = (
            fetch_rows(
                con,
                "SELECT count(*) AS n FROM applications WHERE challenge_id = ? AND contact = ? AND proposal = ?"
                " AND submitted_at >= ?",
                [found[0]["challenge_id"], record["contact"], record["proposal"], duplicate_since],
            )[0]["n"]
            if found
            else 0
        )
        check(found[0] if found else None, int(recent), int(same))
        challenge_id = found[0]["challenge_id"]
        application_id = fetch_rows(
            con,
            "INSERT INTO applications (challenge_id, team, proposal, contact, client_key, submitted_at, applicant)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING application_id",
            [challenge_id, record["team"], record["proposal"], record["contact"], client_key, now, applicant],
        )[0]["application_id"]
        append_audit(
            con,
            actor=f"solver:{client_key}",
            role="solver",
            action="apply",
            entity_type="application",
            entity_id=str(application_id),
            before=None,
            after={"challenge_id": challenge_id, "team": record["team"]},
        )
    return int(application_id)


def challenge_of_application(warehouse: Warehouse, application_id: int) -> str:
    return warehouse.query("SELECT challenge_id FROM applications WHERE application_id = ?", [application_id])[0][
        "challenge_id"
    ]


def applications_of(warehouse: Warehouse, applicant: str, *, today: date) -> list[Row]:
    """A solver account's applications, newest first, each with its challenge as the public may see
    it (ref, title, and whether it is still open) and the challenge's lifecycle status. An
    anonymous challenge's title is the caller's to redact (`_firm`, `_issuer`, `_english_name`,
    `_hidden` are popped by the caller)."""
    return warehouse.query(
        "SELECT a.application_id, a.team, a.submitted_at, substr(sha256(c.challenge_id), 1, 16) AS ref,"
        " c.title, c.description, coalesce(c.targets, '') AS targets, coalesce(c.cooperation, '') AS cooperation,"
        f" c.status, c.deadline, ({_OPEN}) AS open, {_NAME_COLUMNS}"
        " FROM applications a JOIN challenges c USING (challenge_id)"
        " LEFT JOIN firm_profiles p ON p.firm = c.firm"
        " WHERE a.applicant = $applicant ORDER BY a.submitted_at DESC, a.application_id DESC",
        {"applicant": applicant, "open": _OPEN_STATUSES, "today": today},
    )
