"""The brokers' digest of a run: new matches above a score, per broker; written to a file and,
only when configured, sent to a WeCom (企业微信) robot webhook and/or by SMTP.

A broker follows the challenges on whose matches they have decided; a challenge nobody follows
yet goes to every broker. No channel configured means nothing is sent, and that is no error.
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from jiebang import notifications
from jiebang.display import challenge_number, listing_number
from jiebang.settings import Settings
from warehouse import queries
from warehouse.gateway import Warehouse
from warehouse.store import now_utc

EVERYONE = "所有经纪人 (all brokers)"
WECOM_MAX_BYTES = 4096  # a WeCom robot markdown message holds at most this much content


def per_broker(rows: Sequence[Mapping[str, Any]], brokers: Sequence[str]) -> dict[str, list[Mapping[str, Any]]]:
    """{broker: their new matches}: the followers of a challenge get its matches; a challenge
    nobody follows goes to every broker (to EVERYONE when there are no broker accounts)."""
    out: dict[str, list[Mapping[str, Any]]] = {b: [] for b in brokers}
    for row in rows:
        for broker in row.get("brokers") or brokers or [EVERYONE]:
            out.setdefault(broker, []).append(row)
    return {b: r for b, r in out.items() if r}


# Crawled titles go into a Markdown message (a WeCom robot's subset may ignore backslash escapes):
# the characters that open a link, an image, a tag, code or emphasis become their full-width forms.
_INERT = str.maketrans({"[": "［", "]": "］", "<": "＜", ">": "＞", "`": "｀", "*": "＊", "_": "＿", "\\": "＼"})


def _inert(text: object) -> str:
    return " ".join(str(text).translate(_INERT).split())  # one line: a newline could start a heading


def digest_markdown(run_id: str, min_score: float, by_broker: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """The digest as Markdown: one section per broker, one line per new match, each named by the
    numbers brokers use (需求编号, 成果编号 or publication number), never internal ids."""
    lines = [f"# 新匹配摘要 new matches, run {run_id}", "", f"分数 ≥ {min_score:g} (score at least {min_score:g})", ""]
    if not by_broker:
        lines.append("本次没有新的高分匹配 (no new matches above the score this run).")
    for broker, rows in sorted(by_broker.items()):
        lines += [f"## {broker} ({len(rows)})", ""]
        lines += [
            f"- {_inert(challenge_number(r))} {_inert(r['challenge_title'])} ← {_inert(r['listing_title'])}"
            f" ({_inert(listing_number(r))}), 分数 {float(r['score']):.1f}"
            for r in rows
        ]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def wecom_payload(content: str) -> dict[str, Any]:
    """A WeCom robot markdown message, cut to its size limit."""
    data = content.encode("utf-8")
    if len(data) > WECOM_MAX_BYTES:
        tail = "\n…(完整摘要见文件 full digest in the file)"
        content = data[: WECOM_MAX_BYTES - len(tail.encode("utf-8"))].decode("utf-8", "ignore") + tail
    return {"msgtype": "markdown", "markdown": {"content": content}}


def send_webhook(url: str, content: str, timeout: float = 10.0) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(wecom_payload(content), ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def email_message(settings: Settings, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.digest_smtp_from
    message["To"] = ", ".join(smtp_recipients(settings))
    message.set_content(body)
    return message


def smtp_recipients(settings: Settings) -> list[str]:
    return [a.strip() for a in settings.digest_smtp_to.split(",") if a.strip()]


def send_email(settings: Settings, message: EmailMessage, timeout: float = 30.0) -> None:
    with smtplib.SMTP(settings.digest_smtp_host, settings.digest_smtp_port, timeout=timeout) as smtp:
        if settings.digest_smtp_user:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls()
            smtp.login(settings.digest_smtp_user, settings.digest_smtp_password)
        smtp.send_message(message)


def notify(warehouse: Warehouse, settings: Settings, run_id: str) -> dict[str, Any]:
    """Write `digest-<run>.md` under data_dir and send it on the configured channels.

    A channel that fails is reported in the result (and the run report), not raised: the data
    of the run is in the warehouse either way. Returns {"file", "matches", "brokers", "sent", "errors"}."""
    rows = queries.new_matches_above(warehouse, run_id, settings.digest_min_score)
    by_broker = per_broker(rows, queries.broker_usernames(warehouse))
    # In the app too (通知), for the accounts among the recipients (EVERYONE is no account).
    notifications.new_matches(warehouse, {b: r for b, r in by_broker.items() if b != EVERYONE}, now=now_utc())
    content = digest_markdown(run_id, settings.digest_min_score, by_broker)
    path = Path(settings.data_dir) / f"digest-{run_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    sent, errors = [], {}
    if rows and settings.digest_webhook_url:
        try:
            send_webhook(settings.digest_webhook_url, content)
            sent.append("webhook")
        except OSError as exc:  # URLError, HTTPError and timeouts are OSErrors
            errors["webhook"] = f"{type(exc).__name__}: {exc}"
    if rows and settings.digest_smtp_host and smtp_recipients(settings):
        try:
            send_email(settings, email_message(settings, f"揭榜 新匹配 {len(rows)} 条 (run {run_id})", content))
            sent.append("smtp")
        except (OSError, smtplib.SMTPException) as exc:
            errors["smtp"] = f"{type(exc).__name__}: {exc}"
    return {"file": str(path), "matches": len(rows), "brokers": sorted(by_broker), "sent": sent, "errors": errors}
