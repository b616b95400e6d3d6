"""Accounts and roles: argon2 password hashes, the password policy, throttled sign-in, and the
role checks every service call makes.

A `User` a page keeps in its session is only a ticket: every role check re-reads the account
(`live_user`), so a role change, a disabled account or a new password reaches sessions opened
before it on their next call. A password reset and a disable raise the account's credential
version, which ends the sessions holding the old one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from jiebang.contacts import CONTACT_MAX_CHARS, contact_problem
from jiebang.errors import AccessDenied, JiebangError
from jiebang.permissions import ACTIONS, role_label
from warehouse import users
from warehouse.domain import ADMIN, FIRM, ROLES, SOLVER
from warehouse.gateway import Row, Warehouse
from warehouse.store import now_utc

_HASHER = PasswordHasher()
FIRM_ENGLISH_MAX_CHARS = 200

MIN_PASSWORD_CHARS = 8
USERNAME_MAX_CHARS = 254  # an e-mail address at most (OIDC accounts are named by theirs)
ACCOUNT_FAILURES = 5  # failed sign-ins to one account before it is locked …
CLIENT_FAILURES = 10  # … and from one client, over any accounts (guessing many names)
LOCK_BASE = timedelta(minutes=1)  # the first lock; each further failure doubles it …
LOCK_MAX = timedelta(hours=1)  # … up to this
FORGET_AFTER = timedelta(hours=1)  # failures are counted afresh after this long without one
UNKNOWN_CLIENT = "client:unknown"  # a caller the server cannot tell apart: throttled per account only
SHOWN_TZ = ZoneInfo("Asia/Shanghai")  # retry times are said in the market's local time


class InvalidAccount(JiebangError):
    """An account cannot be created or changed as asked (which field, why)."""


class LoginRefused(JiebangError):
    """A sign-in refused: wrong username or password (the same words for both), or a disabled account."""


class LoginThrottled(LoginRefused):
    """Too many failed sign-ins to this account or from this client; `retry_at` (UTC) says when
    the next attempt is heard."""

    def __init__(self, message: str, retry_at: datetime):
        super().__init__(message)
        self.retry_at = retry_at


class SessionEnded(AccessDenied):
    """The account behind a signed-in session was disabled, removed, or given a new password."""


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: str
    firm: str | None = None
    credential_version: int = 1  # of the password this session signed in with


def _user(row: Row) -> User:
    return User(row["username"], row["display_name"], row["role"], row["firm"], int(row["credential_version"]))


# --- the password policy -----------------------------------------------------------------------


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (jiebang/common_passwords.txt), lower-cased."""
    text = resources.files("jiebang").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


_TRAILING_DIGITS_AND_SYMBOLS = re.compile(r"[\d\W_]+$")


def _is_run(text: str) -> bool:
    """Every character one up (or every one down) from the last: 12345678, 3456789012, hijklmno."""
    codes = [ord(c) for c in text]
    for step in (1, -1):
        if all(b - a == step or (a, b) in {(57, 48), (48, 57)} for a, b in zip(codes, codes[1:], strict=False)):
            return True
    return False


def password_problem(password: str, username: str = "") -> str | None:
    """Why `password` may not be used (Chinese first, one line), or None when it may."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"password: at least {MIN_PASSWORD_CHARS} characters (密码至少 {MIN_PASSWORD_CHARS} 位)"
    lowered = password.lower()
    if len(set(lowered)) == 1:
        return "password: 密码不能全是同一个字符 (all one character)"
    if len(set(lowered)) < 3:
        return "password: 密码只用了两种字符，太容易猜到 (only two different characters)"
    name = username.strip().lower()
    if name and (lowered == name or lowered == name[::-1] or (len(name) >= 3 and name in lowered)):
        return "password: 密码不能包含用户名 (contains the username)"
    base = _TRAILING_DIGITS_AND_SYMBOLS.sub("", lowered)
    if lowered in common_passwords() or (len(base) >= 4 and base in common_passwords()):
        return "password: 这是常见密码，很容易被猜中，请换一个 (a common password)"
    if _is_run(lowered):
        return "password: 密码是连续的字符，太容易猜到 (a run like 12345678 or abcdefgh)"
    return None


def _checked_hash(password: str, username: str) -> str:
    if problem := password_problem(password, username):
        raise InvalidAccount(problem)
    return _HASHER.hash(password)


def random_password() -> str:
    return secrets.token_urlsafe(9)


# --- accounts ---------------------------------------------------------------------------------


def add_user(
    warehouse: Warehouse,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str | None = None,
    firm: str | None = None,
    firm_english: str | None = None,
    actor: str | None = None,
) -> User:
    """Create or update a local account (the password is stored only as an argon2 hash). Updating
    one sets a new password, which ends its live sessions. With `actor` the change is audited.

    `firm_english`, the firm's English name, is optional; given, it is kept with the firm (an
    anonymous challenge hides it like the Chinese name); not given, nothing is stored or changed."""
    if role not in ROLES:
        raise InvalidAccount(f"role: {role!r} is not one of {', '.join(ROLES)}")
    if role == FIRM and not firm:
        raise InvalidAccount("firm: a firm user needs --firm (the firm it belongs to)")
    name = username.strip()
    if not name:
        raise InvalidAccount("username: empty")
    if len(name) > USERNAME_MAX_CHARS:
        raise InvalidAccount(f"username: at most {USERNAME_MAX_CHARS} characters (用户名过长)")
    firm_english = (firm_english or "").strip() or None
    if firm_english is not None and role != FIRM:
        raise InvalidAccount("firm-en: only a firm user's firm has an English name (企业英文名仅用于企业用户)")
    if firm_english is not None and len(firm_english) > FIRM_ENGLISH_MAX_CHARS:
        raise InvalidAccount(f"firm-en: at most {FIRM_ENGLISH_MAX_CHARS} characters (企业英文名过长)")
    password_hash = _checked_hash(password, name)
    users.upsert_user(
        warehouse,
        username=name,
        display_name=display_name or name,
        role=role,
        firm=firm if role == FIRM else None,
        password_hash=password_hash,
        actor=actor,
    )
    if firm_english is not None and role == FIRM and firm:
        users.set_firm_english_name(warehouse, firm=firm, english_name=firm_english)
    return _changed(users.get_user(warehouse, name), name)


# --- sign-up: a solver makes their own account (firm, broker and admin accounts are given) ------

SIGN_UP_PER_CLIENT = 3  # accounts one client may make …
SIGN_UP_PER_MARKET = 50  # … and everyone together (behind a proxy every caller is one address) …
SIGN_UP_WINDOW = timedelta(days=1)  # … in this window
SIGN_UP_FIELDS = {  # the form's labels, named in its errors
    "username": "登录名",
    "display_name": "团队/单位",
    "contact": "联系方式",
    "password": "设置密码",
    "password_again": "再次输入密码",
}
USERNAME_CHARS = (3, 32)
USERNAME_HELP = "3–32 个字符：字母、数字和 . _ -，以字母或数字开头"
DISPLAY_NAME_CHARS = (2, 100)
# No spaces, no look-alike letters, and no @: single sign-on names an account by its e-mail
# (user_for_identity), so a self-made account named like someone's e-mail would be theirs there.
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class InvalidSignUp(JiebangError):
    """A sign-up form with problems; `problems` maps each field (SIGN_UP_FIELDS) to why, all at once."""

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        super().__init__("注册信息有误：" + "；".join(f"{SIGN_UP_FIELDS[k]}：{v}" for k, v in self.problems.items()))


class SignUpLimited(JiebangError):
    """Too many accounts made within SIGN_UP_WINDOW: by this client, or by everyone."""


def _sign_up_problems(form: dict[str, str]) -> dict[str, str]:
    problems = {}
    name, low, high = form["username"], *USERNAME_CHARS
    if not name:
        problems["username"] = "必填"
    elif not low <= len(name) <= high or not _USERNAME.match(name):
        problems["username"] = USERNAME_HELP
    shown, low, high = form["display_name"], *DISPLAY_NAME_CHARS
    if not shown:
        problems["display_name"] = "必填（学校、院所或团队名称）"
    elif not low <= len(shown) <= high:
        problems["display_name"] = f"{low}–{high} 个字（现为 {len(shown)} 个）"
    if problem := contact_problem(form["contact"]):
        problems["contact"] = problem
    if problem := password_problem(form["password"], name):
        problems["password"] = problem.removeprefix("password: ")
    elif form["password_again"] != form["password"]:
        problems["password_again"] = "两次输入的密码不一致"
    return problems


def sign_up_solver(
    warehouse: Warehouse, form: dict[str, object], *, client_key: str, now: datetime | None = None
) -> User:
    """Make a 揭榜方 (solver) account from the sign-up form and return it, signed in.

    The role is always SOLVER, whatever the form holds: the market gives firm, broker and admin
    accounts itself. An existing name (in any letter case) is refused, never replaced.
    InvalidSignUp lists every problem of the form; SignUpLimited when this client made
    SIGN_UP_PER_CLIENT accounts within SIGN_UP_WINDOW, or everyone SIGN_UP_PER_MARKET (callers the
    server cannot tell apart, UNKNOWN_CLIENT, count only towards the second)."""
    clean = {k: " ".join(str(form.get(k) or "").split()) for k in SIGN_UP_FIELDS if not k.startswith("password")}
    clean |= {k: str(form.get(k) or "") for k in ("password", "password_again")}
    if problems := _sign_up_problems(clean):
        raise InvalidSignUp(problems)
    now = now or now_utc()

    def check(taken: bool, from_client: int, from_all: int) -> None:
        if client_key != UNKNOWN_CLIENT and from_client >= SIGN_UP_PER_CLIENT:
            raise SignUpLimited(
                f"注册过于频繁：同一网络每 {SIGN_UP_WINDOW.days} 天最多注册 {SIGN_UP_PER_CLIENT} 个账户，"
                "请明天再试或联系科技大市场 (too many sign-ups from here)"
            )
        if from_all >= SIGN_UP_PER_MARKET:
            raise SignUpLimited(
                "今日注册人数已达上限，请明天再试或联系科技大市场开通账户 (sign-ups are closed for today)"
            )
        if taken:
            raise InvalidSignUp({"username": "已被使用，请换一个"})

    users.insert_signed_up_user(
        warehouse,
        username=clean["username"],
        display_name=clean["display_name"],
        role=SOLVER,
        contact=clean["contact"],
        password_hash=_HASHER.hash(clean["password"]),
        client_key=client_key,
        now=now,
        since=now - SIGN_UP_WINDOW,
        check=check,
    )
    return _changed(users.get_user(warehouse, clean["username"]), clean["username"])


def _password_matches(row: Row | None, password: str) -> bool:
    if row is None:
        _HASHER.hash(password)  # spend the same time as a real check: no user enumeration
        return False
    try:
        return bool(_HASHER.verify(row["password_hash"], password))
    except (VerificationError, InvalidHashError):
        return False


def authenticate(warehouse: Warehouse, username: str, password: str) -> User | None:
    """The user when the password is right and the account enabled, else None (the same answer
    for unknown users). Not throttled: sign-in from outside goes through `sign_in`."""
    row = users.get_user(warehouse, username.strip())
    if not _password_matches(row, password) or row is None or row["disabled"]:
        return None
    return _user(row)


def client_key(address: str | None) -> str:
    """The throttling key of a caller's network address: hashed (the address itself is not
    stored); UNKNOWN_CLIENT when the server does not know it."""
    address = (address or "").strip()
    if not address:
        return UNKNOWN_CLIENT
    return "ip:" + hashlib.sha256(address.encode()).hexdigest()[:16]


def _retry_text(until: datetime, now: datetime) -> str:
    minutes = max(1, -(-int((until - now).total_seconds()) // 60))
    local = until.replace(tzinfo=ZoneInfo("UTC")).astimezone(SHOWN_TZ)
    return f"请于 {local:%H:%M}（北京时间，约 {minutes} 分钟）后再试 (try again after {local:%H:%M} UTC+8)"


def _lock_for(scope: str, failures: int) -> timedelta | None:
    limit = ACCOUNT_FAILURES if scope == "account" else CLIENT_FAILURES
    if failures < limit:
        return None
    return min(LOCK_BASE * 2 ** min(failures - limit, 16), LOCK_MAX)


def sign_in(
    warehouse: Warehouse, username: str, password: str, *, client_key: str = UNKNOWN_CLIENT, now: datetime | None = None
) -> User:
    """The user for a right password, throttled per account and per client.

    ACCOUNT_FAILURES wrong passwords for one username, or CLIENT_FAILURES from one known client
    (over any usernames), lock it for LOCK_BASE, doubling with each further failure (up to
    LOCK_MAX); while locked, even the right password is refused with LoginThrottled saying when
    to retry. Every failure and every lock is an audit line. A disabled account is refused
    (said only to whoever knows its password). Success clears the account's count, not the
    client's."""
    name = username.strip()[:USERNAME_MAX_CHARS]  # bounds what an attacker's text adds to the audit log
    now = now or now_utc()
    keys = [("account", name)]
    if client_key != UNKNOWN_CLIENT:
        # Callers the server cannot tell apart (localhost, AppTest) are not one client: a lock
        # on the shared key would lock every one of them out on a stranger's guesses.
        keys.append(("client", client_key))
    if until := users.locked_until(warehouse, keys, now):
        users.record_refused_login(warehouse, name, reason="locked", client_key=client_key)
        raise LoginThrottled(f"登录失败次数过多，已暂时锁定；{_retry_text(until, now)}", until)
    row = users.get_user(warehouse, name) if name else None
    if not _password_matches(row, password) or row is None:
        until = users.record_login_failure(
            warehouse,
            name,
            keys,
            reason="wrong_password",
            client_key=client_key,
            now=now,
            forget_before=now - FORGET_AFTER,
            lock_for=_lock_for,
        )
        wrong = "用户名或密码错误 (wrong username or password)"
        if until:
            raise LoginThrottled(f"{wrong}；登录失败次数过多，已暂时锁定，{_retry_text(until, now)}", until)
        raise LoginRefused(wrong)
    if row["disabled"]:
        users.record_refused_login(warehouse, name, reason="disabled", client_key=client_key)
        raise LoginRefused("该账户已停用，请联系管理员 (account disabled)")
    users.clear_login_failures(warehouse, "account", name)
    return _user(row)


def user_for_identity(warehouse: Warehouse, email: str) -> User | None:
    """The local account of someone the OIDC provider has signed in (username = their email).
    The provider proves who they are; their role still comes only from the local account.
    None for an unknown or disabled account."""
    row = users.get_user(warehouse, email.strip()) if email and email.strip() else None
    return None if row is None or row["disabled"] else _user(row)


def live_user(warehouse: Warehouse, user: User | None) -> User | None:
    """The account behind a session as it is now (current role, firm and name); None when not
    signed in. SessionEnded when the account was disabled, removed or given a new password
    since this session signed in."""
    if user is None:
        return None
    row = users.get_user(warehouse, user.username)
    if row is None:
        raise SessionEnded("账户不存在，请重新登录 (no such account; sign in again)")
    if row["disabled"]:
        raise SessionEnded("该账户已停用，请联系管理员 (account disabled)")
    if int(row["credential_version"]) != user.credential_version:
        raise SessionEnded("密码已重置，请重新登录 (the password was changed; sign in again)")
    return _user(row)


def require_role(warehouse: Warehouse, user: User | None, *roles: str) -> User:
    """The account behind `user` as it is now, if it has one of `roles`; AccessDenied otherwise
    (SessionEnded when the session is no longer valid)."""
    live = live_user(warehouse, user)
    if live is None:
        raise AccessDenied("请先登录 (sign in first)")
    if live.role not in roles:
        raise AccessDenied(f"{role_label(live.role)}无权执行此操作 (role {live.role} may not do this)")
    return live


def ensure_permission(warehouse: Warehouse, user: User | None, action: str) -> User:
    """The account behind `user` as it is now, if its role may do `action` (permissions.ACTIONS);
    AccessDenied otherwise. An action the table does not know is a KeyError, never allowed."""
    return require_role(warehouse, user, *ACTIONS[action])


# --- changing accounts: the operator's CLI (actor "cli") and the admin's page ---------------------


def _changed(row: Row | None, username: str) -> User:
    if row is None:
        raise InvalidAccount(f"username: 账户 {username} 不存在 (no such account)")
    return _user(row)


def set_disabled(
    warehouse: Warehouse, username: str, disabled: bool, *, actor: str = "cli", actor_role: str = "cli"
) -> User:
    """Disable (or enable) an account. Disabling ends its live sessions at their next call."""
    row = users.update_user(
        warehouse,
        username.strip(),
        {"disabled": disabled},
        action="account_disable" if disabled else "account_enable",
        actor=actor,
        actor_role=actor_role,
        end_sessions=disabled,
    )
    return _changed(row, username)


def set_role(
    warehouse: Warehouse,
    username: str,
    role: str,
    *,
    firm: str | None = None,
    actor: str = "cli",
    actor_role: str = "cli",
) -> User:
    """Give an account another role (and firm). Its live sessions keep going with the new role."""
    if role not in ROLES:
        raise InvalidAccount(f"role: {role!r} is not one of {', '.join(ROLES)}")
    if role == FIRM and not (firm or "").strip():
        raise InvalidAccount("firm: a firm user needs --firm (the firm it belongs to)")
    row = users.update_user(
        warehouse,
        username.strip(),
        {"role": role, "firm": (firm or "").strip() if role == FIRM else None},
        action="account_role",
        actor=actor,
        actor_role=actor_role,
        end_sessions=False,
    )
    return _changed(row, username)


def reset_password(
    warehouse: Warehouse, username: str, password: str, *, actor: str = "cli", actor_role: str = "cli"
) -> User:
    """Set a new password (policy checked); the account's live sessions end."""
    name = username.strip()
    row = users.update_user(
        warehouse,
        name,
        {"password_hash": _checked_hash(password, name)},
        action="password_reset",
        actor=actor,
        actor_role=actor_role,
        end_sessions=True,
    )
    return _changed(row, username)


def change_password(warehouse: Warehouse, user: User | None, current: str, new: str) -> User:
    """The signed-in user's own new password, after the current one; returns the User for this
    session (the account's other sessions end)."""
    me = ensure_permission(warehouse, user, "manage_own_account")
    if not _password_matches(users.get_user(warehouse, me.username), current):
        raise InvalidAccount("当前密码不正确 (the current password is wrong)")
    return reset_password(warehouse, me.username, new, actor=me.username, actor_role=me.role)


def accounts_list(warehouse: Warehouse, admin: User | None) -> list[Row]:
    ensure_permission(warehouse, admin, "manage_users")
    return users.list_users(warehouse)


def admin_set_disabled(warehouse: Warehouse, admin: User | None, username: str, disabled: bool) -> User:
    me = ensure_permission(warehouse, admin, "manage_users")
    if username == me.username and disabled:
        raise InvalidAccount("不能停用自己的账户 (you cannot disable your own account)")
    return set_disabled(warehouse, username, disabled, actor=me.username, actor_role=me.role)


def admin_set_role(warehouse: Warehouse, admin: User | None, username: str, role: str, firm: str | None) -> User:
    me = ensure_permission(warehouse, admin, "manage_users")
    if username == me.username and role != ADMIN:
        raise InvalidAccount("不能取消自己的管理员角色 (you cannot demote yourself)")
    return set_role(warehouse, username, role, firm=firm, actor=me.username, actor_role=me.role)


def admin_reset_password(warehouse: Warehouse, admin: User | None, username: str) -> str:
    """A fresh random password for `username` (shown once to the admin); its sessions end."""
    me = ensure_permission(warehouse, admin, "manage_users")
    password = random_password()
    while password_problem(password, username):  # practically never: 12 random characters
        password = random_password()
    reset_password(warehouse, username, password, actor=me.username, actor_role=me.role)
    return password


def my_contact(warehouse: Warehouse, user: User | None) -> str | None:
    me = ensure_permission(warehouse, user, "manage_own_account")
    return users.get_contact(warehouse, me.username)


def set_my_contact(warehouse: Warehouse, user: User | None, contact: str | None) -> str | None:
    """The signed-in user's own contact line (phone, e-mail …), shown to a firm beside a match this
    user shared with it; empty clears it. Returns it as stored."""
    me = ensure_permission(warehouse, user, "manage_own_account")
    text = " ".join(str(contact or "").split()) or None
    if text and len(text) > CONTACT_MAX_CHARS:
        raise InvalidAccount(f"联系方式最多 {CONTACT_MAX_CHARS} 个字（现为 {len(text)} 个）")
    users.set_contact(warehouse, me.username, text)
    return text
