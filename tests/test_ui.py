"""Streamlit pages under AppTest, against a warehouse filled by the real crawl and matching."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from jiebang.accounts import User, add_user
from jiebang.settings import Settings
from tests.conftest import ROOT
from warehouse import queries, store

PAGES = ROOT / "ui" / "pages"
BROKER = User("wang", "王经纪", "broker")


def _page(name: str, warehouse, user: User | None) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=warehouse.path)
    if user is not None:
        at.session_state["user"] = user
    return at.run()


def _first_challenge(warehouse) -> dict:
    return queries.challenge_queue(warehouse)[0]


def test_broker_page_lists_challenges_and_ranked_matches(loaded_warehouse):
    at = _page("broker.py", loaded_warehouse, BROKER)
    assert not at.exception
    queue = queries.challenge_queue(loaded_warehouse)
    assert at.selectbox(key="challenge_id").options == [
        f"{row['title']}  ·  待审 {row['n_unreviewed']}  ·  最高分 {row['best_score'] or 0:.0f}" for row in queue
    ]
    best = queries.matches_for_challenge(loaded_warehouse, queue[0]["challenge_id"], limit=10)
    shown = " ".join(m.value for m in at.markdown)
    for match in best[:3]:
        assert match["url"] in shown  # source link
    assert [m.value for m in at.metric][:3] == [f"{m['score']:.0f}" for m in best[:3]]


def test_shortlist_and_reject_are_recorded_and_rejected_is_hidden(loaded_warehouse):
    at = _page("broker.py", loaded_warehouse, BROKER)
    challenge_id = _first_challenge(loaded_warehouse)["challenge_id"]
    top, second = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=2)

    at.button(key=f"shortlist|{challenge_id}|{top['listing_id']}").click().run()
    at.selectbox(key=f"reason|{challenge_id}|{second['listing_id']}").select("技术不对口").run()
    at.button(key=f"reject|{challenge_id}|{second['listing_id']}").click().run()

    reviews = queries.reviews_for(loaded_warehouse, challenge_id)
    assert [(r["listing_id"], r["decision"], r["reason"], r["reviewer"]) for r in reviews] == [
        (top["listing_id"], "shortlist", None, "wang"),
        (second["listing_id"], "reject", "技术不对口", "wang"),
    ]
    remaining = [b.key for b in at.button if b.key and b.key.startswith("reject|")]
    assert f"reject|{challenge_id}|{second['listing_id']}" not in remaining


def test_reject_button_is_disabled_until_a_reason_is_chosen(loaded_warehouse):
    at = _page("broker.py", loaded_warehouse, BROKER)
    challenge_id = _first_challenge(loaded_warehouse)["challenge_id"]
    top = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=1)[0]
    assert at.button(key=f"reject|{challenge_id}|{top['listing_id']}").disabled


@pytest.mark.parametrize("user", [None, User("acme", "某企业", "firm", firm="某企业")], ids=["anonymous", "firm"])
def test_broker_page_refuses_other_roles(loaded_warehouse, user):
    at = _page("broker.py", loaded_warehouse, user)
    assert not at.exception
    assert at.error and ("请先登录" in at.error[0].value or "无权" in at.error[0].value)
    assert not at.metric and not at.button  # no match data reached the page


def test_crawled_html_is_shown_as_text(loaded_warehouse):
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    store.upsert_challenges(loaded_warehouse, [{
        "challenge_id": "evil:/1", "title": "AAA " + hostile, "description": "描述 " + hostile + " 锂电池",
        "source": "evil", "url": "javascript:alert(3)",
    }])
    at = AppTest.from_file(str(PAGES / "broker.py"), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=loaded_warehouse.path)
    at.session_state["user"] = BROKER
    at.session_state["challenge_id"] = "evil:/1"
    at.run()
    rendered = " ".join(m.value for m in at.markdown) + " ".join(s.value for s in at.subheader)
    assert "AAA" in rendered
    assert not re.search(r"(?<!\\)[<>]", rendered)  # every angle bracket escaped: shown as text
    assert "javascript:" not in rendered  # a non-http link is never rendered


def test_runs_page_shows_counts_and_latest_run(loaded_warehouse):
    at = _page("runs.py", loaded_warehouse, BROKER)
    counts = queries.table_counts(loaded_warehouse)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["供给 (专利/成果)"] == str(counts["listings"])
    assert metrics["需求"] == str(counts["challenges"])


def test_login_through_the_app_router(loaded_warehouse):
    add_user(loaded_warehouse, "zhao", "correct horse", "broker", display_name="赵经纪")
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=loaded_warehouse.path)
    at.run()
    at.text_input[0].input("zhao")
    at.text_input[1].input("wrong password")
    at.button[0].click().run()
    assert "user" not in at.session_state and "用户名或密码错误" in at.error[0].value

    at.text_input[1].input("correct horse")
    at.button[0].click().run()
    assert at.session_state["user"].username == "zhao"
    # AppTest keeps running the page it ran last; a browser goes to the default page. Either way
    # the router now offers the broker's pages:
    at.switch_page("pages/broker.py").run()
    assert not at.exception
    assert at.title[0].value == "匹配审核"
