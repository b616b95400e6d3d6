"""Account rows and the sign-in throttle. Hashing, the password policy, role rules and the
throttle's limits live in jiebang.accounts; this is only storage (with the audit lines)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from warehouse.gateway import Row, Warehouse, fetch_rows
from warehouse.store import append_audit, now_utc


def upsert_user(
    warehouse: Warehouse,
    *,
    username: str,
    display_name: str,
    role: str,
    firm: str | None,
    password_hash: str,
    actor: str | None = None,
    actor_role: str = "cli",
) -> None:
    """Create an account or replace an existing one's name, role, firm and password. A replaced
    password is a new credential: the account's live sessions end (credential_version + 1).
    With `actor`, an "account_save" audit line records who did it (never the hash)."""
    with warehouse.transaction() as con:
        before = fetch_rows(con, "SELECT role, firm, disabled FROM users WHERE username = ?", [username])
        con.execute(
            "INSERT INTO users (username, display_name, role, firm, password_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET"
            " display_name = EXCLUDED.display_name, role = EXCLUDED.role, firm = EXCLUDED.firm,"
            " password_hash = EXCLUDED.password_hash, credential_version = users.credential_version + 1",
            [username, display_name, role, firm, password_hash, now_utc()],
        )
        if actor is not None:
            append_audit(
                con,
                actor=actor,
                role=actor_role,
                action="account_save",
                entity_type="user",
                entity_id=username,
                before=before[0] if before else None,
                after={"role": role, "firm": firm, "password": "set"},
            )


def insert_signed_up_user(
    warehouse: Warehouse,
    *,
    username: str,
    display_name: str,
    role: str,
    contact: str,
    password_hash: str,
    client_key: str,
    now: datetime,
    since: datetime,
    check: Callable[[bool, int, int], None],
) -> None:
    """Create an account someone made for themselves, never replacing one: `check(taken,
    from_client, from_all)` is called in the same transaction with whether the name is taken (in
    any letter case) and how many accounts `client_key` and everyone made since `since`, and
    raises to refuse. The "account_signup" audit line names the client (hashed): the counts hold
    across sessions and restarts."""
    with warehouse.transaction() as con:
        taken = fetch_rows(con, "SELECT 1 FROM users WHERE lower(username) = lower(?)", [username])
        [recent] = fetch_rows(
            con,
            "SELECT count(*) FILTER (WHERE json_extract_string(after, '$.client') = ?) AS from_client,"
            " count(*) AS from_all FROM audit_log WHERE action = 'account_signup' AND acted_at >= ?",
            [client_key, since],
        )
        check(bool(taken), recent["from_client"], recent["from_all"])
        con.execute(
            "INSERT INTO users (username, display_name, role, firm, password_hash, created_at, contact)"
            " VALUES (?, ?, ?, NULL, ?, ?, ?)",
            [username, display_name, role, password_hash, now, contact],
        )
        append_audit(
            con,
            actor=username,
            role=role,
            action="account_signup",
            entity_type="user",
            entity_id=username,
            after={"role": role, "client": client_key},
            at=now,
        )


def get_user(warehouse: Warehouse, username: str) -> Row | None:
    rows = warehouse.query("SELECT * FROM users WHERE username = ?", [username])
    return rows[0] if rows else None


def list_users(warehouse: Warehouse) -> list[Row]:
    return warehouse.query(
        "SELECT username, display_name, role, firm, contact, disabled, created_at FROM users ORDER BY username"
    )


def update_user(
    warehouse: Warehouse,
    username: str,
    changes: Mapping[str, Any],
    *,
    action: str,
    actor: str,
    actor_role: str,
    end_sessions: bool,
) -> Row | None:
    """Change some of an account's columns (role, firm, disabled, password_hash) with an audit
    line `action`; `end_sessions` bumps the credential version. None when there is no such account."""
    allowed = {"role", "firm", "disabled", "password_hash"}
    if not changes or set(changes) - allowed:
        raise ValueError(f"update_user changes only {sorted(allowed)}")
    assignments = ", ".join(f"{column} = ${column}" for column in changes)  # names from `allowed` only
    if end_sessions:
        assignments += ", credential_version = credential_version + 1"
    with warehouse.transaction() as con:
        before = fetch_rows(con, "SELECT role, firm, disabled FROM users WHERE username = ?", [username])
        if not before:
            return None
        con.execute(f"UPDATE users SET {assignments} WHERE username = $username", {**changes, "username": username})
        after = fetch_rows(con, "SELECT * FROM users WHERE username = ?", [username])[0]
        append_audit(
            con,
            actor=actor,
            role=actor_role,
            action=action,
            entity_type="user",
            entity_id=username,
            before=before[0],
            after={k: ("changed" if k == "password_hash" else v) for k, v in changes.items()},
        )
    return after


# --- the sign-in throttle ----------------------------------------------------------------------


def locked_until(warehouse: Warehouse, keys: list[tuple[str, str]], now: datetime) -> datetime | None:
    """The latest end of a lock still running on any of the (scope, key) pairs, else None."""
    found = []
    with warehouse.transaction() as con:
        for scope, key in keys:
            found += fetch_rows(
                con,
                "SELECT locked_until FROM login_throttle WHERE scope = ? AND key = ? AND locked_until > ?",
                [scope, key, now],
            )
    return max((row["locked_until"] for row in found), default=None)


def record_login_failure(
    warehouse: Warehouse,
    username: str,
    keys: list[tuple[str, str]],
    *,
    reason: str,
    client_key: str,
    now: datetime,
    forget_before: datetime,
    lock_for: Callable[[str, int], timedelta | None],
) -> datetime | None:
    """One failed sign-in as `username`: a "login_failed" audit line, and for each (scope, key)
    the consecutive failures counted up (restarted when the last one is older than
    `forget_before`). `lock_for(scope, failures)` says how long that key is now locked (None:
    not locked); each new lock gets a "login_locked" line. Returns the latest lock end, if any.
    All in one transaction, so two failures at once are both counted."""
    latest = None
    with warehouse.transaction() as con:
        record_refused_login(con, username, reason=reason, client_key=client_key)
        for scope, key in keys:
            rows = fetch_rows(
                con, "SELECT failures, last_failure_at FROM login_throttle WHERE scope = ? AND key = ?", [scope, key]
            )
            recent = rows and rows[0]["last_failure_at"] >= forget_before
            failures = (int(rows[0]["failures"]) if recent else 0) + 1
            lock = lock_for(scope, failures)
            until = now + lock if lock else None
            con.execute(
                "INSERT INTO login_throttle VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO UPDATE SET"
                " failures = EXCLUDED.failures, last_failure_at = EXCLUDED.last_failure_at,"
                " locked_until = EXCLUDED.locked_until",
                [scope, key, failures, now, until],
            )
            if until is not None:
                append_audit(
                    con,
                    actor="system",
                    role="system",
                    action="login_locked",
                    entity_type="user" if scope == "account" else "client",
                    entity_id=key,
                    after={"scope": scope, "failures": failures, "locked_until": until, "client": client_key},
                )
                latest = until if latest is None else max(latest, until)
    return latest


def record_refused_login(warehouse, username: str, *, reason: str, client_key: str) -> None:
    """A "login_failed" audit line; alone, a sign-in refused without counting as a guess (the key
    is locked, the account disabled). `warehouse`: a Warehouse or an open transaction."""
    append_audit(
        warehouse,
        actor=username,
        role="login",
        action="login_failed",
        entity_type="user",
        entity_id=username,
        after={"reason": reason, "client": client_key},
    )


def clear_login_failures(warehouse: Warehouse, scope: str, key: str) -> None:
    warehouse.execute("DELETE FROM login_throttle WHERE scope = ? AND key = ?", [scope, key])


def set_firm_english_name(warehouse: Warehouse, *, firm: str, english_name: str) -> None:
    warehouse.execute(
        "INSERT INTO firm_profiles VALUES (?, ?, ?) ON CONFLICT (firm) DO UPDATE SET"
        " english_name = EXCLUDED.english_name, updated_at = EXCLUDED.updated_at",
        [firm, english_name, now_utc()],
    )


def set_contact(warehouse: Warehouse, username: str, contact: str | None) -> None:
    """How the account is reached (users.contact, migration 0012): shown to firms by its shares."""
    warehouse.execute("UPDATE users SET contact = ? WHERE username = ?", [contact, username])


def get_contact(warehouse: Warehouse, username: str) -> str | None:
    rows = warehouse.query("SELECT contact FROM users WHERE username = ?", [username])
    return rows[0]["contact"] if rows else None
