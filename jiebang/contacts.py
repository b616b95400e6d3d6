"""How someone is reached, as a solver writes it on a 揭榜 application or at sign-up: a mobile
number, a landline or an e-mail address, checked one way for both."""

from __future__ import annotations

import re

CONTACT_MAX_CHARS = 100
_MOBILE = re.compile(r"^(?:\+?86[- ]?)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(?:-\d{1,6})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def contact_problem(contact: str) -> str | None:
    """Why `contact` (already stripped) cannot be used to reach someone, or None.

    >>> contact_problem("138 0000 0000"), contact_problem("0573-84000000"), contact_problem("a@b.cn")
    (None, None, None)
    >>> contact_problem("微信同号")
    '请填写有效的手机号（如 13800000000）、座机（如 0573-84000000）或电子邮箱'
    """
    if not contact:
        return "必填（手机、座机或电子邮箱）"
    if len(contact) > CONTACT_MAX_CHARS:
        return f"最多 {CONTACT_MAX_CHARS} 个字"
    if not (_MOBILE.match(contact.replace(" ", "")) or _LANDLINE.match(contact) or _EMAIL.match(contact)):
        return "请填写有效的手机号（如 13800000000）、座机（如 0573-84000000）或电子邮箱"
    return None
