"""Issue 16 (6): what a broker sees after a decision on the broker page (AppTest, real DuckDB):
a reject names the listing and can be undone (a new decision in the log, never a delete), a
signed deal's validation error stays in the open form with what was typed, and a signed card
offers no 入围 / 排除."""

from __future__ import annotations

from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from jiebang import broker
from jiebang.accounts import User
from jiebang.settings import Settings
from tests.conftest import ROOT
from tests.workspace_data import register, seed
from warehouse import queries

pytestmark = pytest.mark.integration

BROKER = User("wang", "王经纪", "broker")
CID = "mkt:/1"


def _open(wh, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "pages" / "broker.py"), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=wh.path)
    at.session_state["user"] = register(wh, BROKER)[0]
    at.session_state["broker_challenge"] = CID
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _reject(at: AppTest, key: str) -> None:
    at.selectbox(key=f"reason|{key}").select("技术不对口").run()
    at.button(key=f"reject|{key}").click().run()


def _keys(at: AppTest, prefix: str) -> list[str]:
    return [b.key for b in at.button if b.key and b.key.startswith(prefix)]


def test_a_reject_names_the_listing_and_its_undo_is_a_new_decision(tmp_path):
    wh = seed(tmp_path / "workspace.duckdb")
    top = queries.matches_for_challenge(wh, CID, limit=1)[0]
    key = f"{CID}|{top['listing_id']}"
    at = _open(wh)
    _reject(at, key)

    assert not at.exception
    assert f"已排除：{top['title']}（技术不对口）" in [s.value for s in at.success]  # the listing, by name
    assert f"shortlist|{key}" not in _keys(at, "shortlist|")  # the card itself is folded away
    at.button(key=f"undo_button|{key}").click().run()

    log = [(r["listing_id"], r["decision"], r["reviewer"]) for r in queries.reviews_for(wh, CID)]
    assert log == [(top["listing_id"], "reject", "wang"), (top["listing_id"], "reopen", "wang")]  # appended
    assert f"shortlist|{key}" in _keys(at, "shortlist|")  # the card is back, undecided
    assert f"undo_button|{key}" not in _keys(at, "undo_button|")
    assert broker.match_card(wh, BROKER, CID, top["listing_id"])["decision"] is None
    queue = {r["challenge_id"]: r for r in broker.review_queue_page(wh, BROKER).rows}
    assert queue[CID]["n_unreviewed"] == queue[CID]["n_matches"]  # 待审 again


def test_undo_restores_the_decision_before_the_reject(tmp_path):
    wh = seed(tmp_path / "workspace.duckdb")
    top = queries.matches_for_challenge(wh, CID, limit=1)[0]
    key = f"{CID}|{top['listing_id']}"
    at = _open(wh)
    at.button(key=f"shortlist|{key}").click().run()
    _reject(at, key)
    at.button(key=f"undo_button|{key}").click().run()

    assert [r["decision"] for r in queries.reviews_for(wh, CID)] == ["shortlist", "reject", "shortlist"]
    assert any(c.value == "状态：入围" for c in at.caption)


def test_a_bulk_reject_leaves_an_undo_on_each_rejected_line(tmp_path):
    wh = seed(tmp_path / "workspace.duckdb")
    first, second = queries.matches_for_challenge(wh, CID, limit=2)
    at = _open(wh)
    for m in (first, second):
        at.checkbox(key=f"select|{CID}|{m['listing_id']}").check()
    at.selectbox(key="bulk_decision").select("reject")
    at.selectbox(key="bulk_reason").select("成熟度不足")
    at.button(key="bulk_submit").click().run()

    assert sorted(_keys(at, "undo_button|")) == sorted(f"undo_button|{CID}|{m['listing_id']}" for m in (first, second))
    at.button(key=f"undo_button|{CID}|{second['listing_id']}").click().run()
    latest = {r["listing_id"]: r["decision"] for r in queries.reviews_for(wh, CID)}
    assert latest == {first["listing_id"]: "reject", second["listing_id"]: "reopen"}


def test_an_undo_after_a_newer_decision_is_refused(tmp_path):
    wh = seed(tmp_path / "workspace.duckdb")
    top = queries.matches_for_challenge(wh, CID, limit=1)[0]
    rejected = broker.decide(wh, BROKER, CID, top["listing_id"], "reject", reason="重复推荐")
    broker.decide(wh, BROKER, CID, top["listing_id"], "shortlist")  # another broker's tab, say
    with pytest.raises(broker.InvalidDecision, match="已有新的决定"):
        broker.undo(wh, BROKER, CID, top["listing_id"], rejected)
    assert [r["decision"] for r in queries.reviews_for(wh, CID)] == ["reject", "shortlist"]


def _in_form(at: AppTest, form_id: str) -> list:
    """The elements drawn inside the st.form `form_id`."""
    form = next(
        node for node in at._tree if getattr(node, "type", None) == "form" and node.proto.form.form_id == form_id
    )
    return list(form)


def test_a_signed_deal_error_stays_in_the_open_form_with_the_values_typed(tmp_path):
    wh = seed(tmp_path / "workspace.duckdb")
    top = queries.matches_for_challenge(wh, CID, limit=1)[0]
    key = f"{CID}|{top['listing_id']}"
    at = _open(wh, **{f"follow_up|{key}": True})
    at.radio(key=f"decision|{key}").set_value("signed")
    at.number_input(key=f"amount|{key}").set_value(120.0)
    at.text_input(key=f"note|{key}").input("合同待盖章")
    at.button(key=f"submit|{key}").click().run()  # no date

    errors = [e.value for e in _in_form(at, f"decide|{key}") if e.type == "error"]
    assert errors == ["签约日期：必填"]  # shown in the form, beside the fields
    assert at.session_state[f"follow_up|{key}"] is True  # the form stays open
    assert at.number_input(key=f"amount|{key}").value == 120.0
    assert at.text_input(key=f"note|{key}").value == "合同待盖章"
    assert at.radio(key=f"decision|{key}").value == "signed"
    assert queries.reviews_for(wh, CID) == []


def test_a_signed_card_offers_no_shortlist_or_reject_and_its_date_has_half_the_form(tmp_path):
    wh = seed(tmp_path / "workspace.duckdb")
    top, other = queries.matches_for_challenge(wh, CID, limit=2)
    broker.decide(wh, BROKER, CID, top["listing_id"], "signed", deal_amount_wan=88, deal_date=date(2026, 11, 20))
    key = f"{CID}|{top['listing_id']}"
    at = _open(wh, **{f"follow_up|{key}": True})

    assert f"shortlist|{key}" not in _keys(at, "shortlist|") and f"reject|{key}" not in _keys(at, "reject|")
    assert f"shortlist|{CID}|{other['listing_id']}" in _keys(at, "shortlist|")  # an open card still has them
    assert f"submit|{key}" in [b.key for b in at.button]  # 回访 and notes still apply
    # 签约日期 shares its row with the amount only, half each (it was a quarter: "2026/12/0").
    holding = [c for c in at.columns if any(getattr(e, "key", None) == f"deal_date|{key}" for e in c)]
    assert holding[-1].weight == pytest.approx(0.5)  # the innermost column around it


def test_0013_keeps_every_review_and_its_id_and_admits_only_reopen_besides(tmp_path):
    import duckdb

    from warehouse.gateway import Warehouse
    from warehouse.migrations import migrate

    wh = Warehouse(tmp_path / "old.duckdb")
    migrate(wh, up_to=12)
    wh.execute(
        "INSERT INTO reviews (challenge_id, listing_id, decision, reason, reviewer, decided_at, deal_amount_wan,"
        " deal_date) VALUES ('c', 'l', 'reject', '重复推荐', 'wang', TIMESTAMP '2026-11-01 09:00', NULL, NULL),"
        " ('c', 'l', 'signed', NULL, 'wang', TIMESTAMP '2026-11-02 09:00', 88, DATE '2026-11-02')"
    )
    with pytest.raises(duckdb.ConstraintException):
        wh.execute(
            "INSERT INTO reviews (challenge_id, listing_id, decision, reviewer, decided_at)"
            " VALUES ('c', 'l', 'reopen', 'wang', now())"
        )  # before 0013: refused
    before = wh.query("SELECT * FROM reviews ORDER BY review_id")

    assert 13 in migrate(wh)
    assert wh.query("SELECT * FROM reviews ORDER BY review_id") == before
    wh.execute(
        "INSERT INTO reviews (challenge_id, listing_id, decision, reviewer, decided_at)"
        " VALUES ('c', 'l', 'reopen', 'wang', now())"
    )
    assert [r["review_id"] for r in wh.query("SELECT review_id FROM reviews ORDER BY review_id")] == [
        before[0]["review_id"],
        before[1]["review_id"],
        before[1]["review_id"] + 1,  # the sequence goes on
    ]
    with pytest.raises(duckdb.ConstraintException):
        wh.execute(
            "INSERT INTO reviews (challenge_id, listing_id, decision, reviewer, decided_at)"
            " VALUES ('c', 'l', 'maybe', 'wang', now())"
        )
