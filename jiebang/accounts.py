"""Accounts and roles: argon2 password hashes, sign-in, and the role checks every service call makes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from jiebang.errors import AccessDenied, JiebangError
from warehouse import users
from warehouse.gateway import Warehouse

ROLES = ("admin", "broker", "firm")
ROLE_LABELS = {"admin": "管理员", "broker": "技术经纪人", "firm": "企业用户"}
_HASHER = PasswordHasher()
FIRM_ENGLISH_MAX_CHARS = 200


class InvalidAccount(JiebangError):
    """An account cannot be created as asked (which field, why)."""


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: str
    firm: str | None = None


def add_user(
    warehouse: Warehouse,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str | None = None,
    firm: str | None = None,
    firm_english: str | None = None,
) -> User:
    """Create or update a local account (the password is stored only as an argon2 hash).

    `firm_english`, the firm's English name, is optional; given, it is kept with the firm (an
    anonymous challenge hides it like the Chinese name); not given, nothing is stored or changed."""
    if role not in ROLES:
        raise InvalidAccount(f"role: {role!r} is not one of {', '.join(ROLES)}")
    if role == "firm" and not firm:
        raise InvalidAccount("firm: a firm user needs --firm (the firm it belongs to)")
    if len(password) < 8:
        raise InvalidAccount("password: at least 8 characters (密码至少 8 位)")
    if not username.strip():
        raise InvalidAccount("username: empty")
    firm_english = (firm_english or "").strip() or None
    if firm_english is not None and role != "firm":
        raise InvalidAccount("firm-en: only a firm user's firm has an English name (企业英文名仅用于企业用户)")
    if firm_english is not None and len(firm_english) > FIRM_ENGLISH_MAX_CHARS:
        raise InvalidAccount(f"firm-en: at most {FIRM_ENGLISH_MAX_CHARS} characters (企业英文名过长)")
    user = User(username.strip(), display_name or username.strip(), role, firm if role == "firm" else None)
    users.upsert_user(
        warehouse,
        username=user.username,
        display_name=user.display_name,
        role=role,
        firm=user.firm,
        password_hash=_HASHER.hash(password),
    )
    if firm_english is not None and user.firm:
        users.set_firm_english_name(warehouse, firm=user.firm, english_name=firm_english)
    return user


def authenticate(warehouse: Warehouse, username: str, password: str) -> User | None:
    """The user when the password is right, else None (same answer for unknown users)."""
    row = users.get_user(warehouse, username.strip())
    if row is None:
        _HASHER.hash(password)  # spend the same time as a real check: no user enumeration
        return None
    try:
        _HASHER.verify(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return None
    return User(row["username"], row["display_name"], row["role"], row["firm"])


def user_for_identity(warehouse: Warehouse, email: str) -> User | None:
    """The local account of someone the OIDC provider has signed in (username = their email).
    The provider proves who they are; their role still comes only from `jiebang user add`."""
    row = users.get_user(warehouse, email.strip()) if email and email.strip() else None
    return None if row is None else User(row["username"], row["display_name"], row["role"], row["firm"])


def require_role(user: User | None, *roles: str) -> User:
    """The user if signed in with one of `roles`; AccessDenied otherwise."""
    if user is None:
        raise AccessDenied("请先登录 (sign in first)")
    if user.role not in roles:
        raise AccessDenied(f"{ROLE_LABELS.get(user.role, user.role)}无权执行此操作 (role {user.role} may not do this)")
    return user


def random_password() -> str:
    return secrets.token_urlsafe(9)
