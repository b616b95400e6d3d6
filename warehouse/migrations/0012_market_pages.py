"""Schema v12: what the market's pages need.

- `notifications`: in-app notices (new matches for a broker's challenges, a new 揭榜 application,
  a match shared with a firm, a challenge's status changed), one row per recipient, read or not.
- `applications.applicant`: the solver account that sent an application (NULL: sent without one),
  so that a solver can follow its applications' status.
- `users.contact`: how a broker is reached (shown to the firm beside a match the broker shared).
- the `solver` role (揭榜方): the users table's role CHECK cannot be altered in place, so the
  table is rebuilt from its own current definition with the one list widened — whatever columns
  other migrations added to it are kept as they are.
"""

from __future__ import annotations

import duckdb

from warehouse.domain import ADMIN, BROKER, FIRM, SOLVER  # the stored codes: fixed once shipped


def _sql_list(*codes: str) -> str:
    return "(" + ", ".join(f"'{code}'" for code in codes) + ")"


_ROLES_BEFORE = _sql_list(ADMIN, BROKER, FIRM)  # as migration 0002 wrote the CHECK
_ROLES_AFTER = _sql_list(ADMIN, BROKER, FIRM, SOLVER)

_SQL = """
CREATE SEQUENCE notification_seq;
CREATE TABLE notifications (
    notification_id BIGINT PRIMARY KEY DEFAULT nextval('notification_seq'),
    recipient       VARCHAR NOT NULL,   -- users.username
    kind            VARCHAR NOT NULL,   -- new_matches, application, shared, status
    title           VARCHAR NOT NULL,   -- one line, as shown
    body            VARCHAR,
    link            VARCHAR,            -- a page of the app and its query: challenge?id=…
    created_at      TIMESTAMP NOT NULL,
    read_at         TIMESTAMP           -- NULL: unread
);
ALTER TABLE applications ADD COLUMN applicant VARCHAR;
ALTER TABLE users ADD COLUMN contact VARCHAR;
"""


def apply(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_SQL)
    found = con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'users'").fetchone()
    definition = str(found[0]) if found else ""
    if _ROLES_BEFORE not in definition:
        raise RuntimeError(f"users.role CHECK is not {_ROLES_BEFORE}: {definition}")
    widened = definition.replace(_ROLES_BEFORE, _ROLES_AFTER, 1).replace(
        "CREATE TABLE users(", "CREATE TABLE users_v12(", 1
    )
    con.execute(widened)
    con.execute("INSERT INTO users_v12 SELECT * FROM users")
    con.execute("DROP TABLE users")
    con.execute("ALTER TABLE users_v12 RENAME TO users")
