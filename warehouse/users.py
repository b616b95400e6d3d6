"""Account rows. Hashing and role rules live in jiebang.accounts; this is only storage."""

from __future__ import annotations

from warehouse.gateway import Row, Warehouse
from warehouse.store import now_utc


def upsert_user(
    warehouse: Warehouse, *, username: str, display_name: str, role: str, firm: str | None, password_hash: str
) -> None:
    warehouse.execute(
        "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET"
        " display_name = EXCLUDED.display_name, role = EXCLUDED.role, firm = EXCLUDED.firm,"
        " password_hash = EXCLUDED.password_hash",
        [username, display_name, role, firm, password_hash, now_utc()],
    )


def get_user(warehouse: Warehouse, username: str) -> Row | None:
    rows = warehouse.query("SELECT * FROM users WHERE username = ?", [username])
    return rows[0] if rows else None


def list_users(warehouse: Warehouse) -> list[Row]:
    return warehouse.query("SELECT username, display_name, role, firm, created_at FROM users ORDER BY username")


def set_firm_english_name(warehouse: Warehouse, *, firm: str, english_name: str) -> None:
    warehouse.execute(
        "INSERT INTO firm_profiles VALUES (?, ?, ?) ON CONFLICT (firm) DO UPDATE SET"
        " english_name = EXCLUDED.english_name, updated_at = EXCLUDED.updated_at",
        [firm, english_name, now_utc()],
    )
