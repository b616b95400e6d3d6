"""Warehouse writes and reads: idempotent upserts, matches that keep reviews, an append-only review log."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse import queries, store
from warehouse.gateway import Warehouse
from warehouse.migrations import migrate

pytestmark = pytest.mark.integration


def listing(listing_id: str = "CN101551481", **changes) -> dict:
    record = {
        "listing_id": listing_id,
        "kind": "patent",
        "title": "滤色片制造方法",
        "abstract": "本发明提供下述滤色片制造方法。",
        "claims": "1.一种滤色片的制造方法。",
        "keywords": ["滤色片", "黑矩阵"],
        "applicants": ["Fujifilm Corp"],
        "inventors": ["竹田明彦", "中泽隆浩"],
        "ipc": ["G02B5/20"],
        "publication_number": "CN101551481B",
        "field": "新型显示",
        "maturity": None,
        "cooperation": None,
        "price_wan": None,
        "price_text": None,
        "contact": None,
        "region": None,
        "legal_status": "Expired - Fee Related",
        "published_on": date(2012, 11, 21),
        "url": "https://patents.google.com/patent/CN101551481B/zh",
        "source": "google_patents",
    }
    record.update(changes)
    return record


def challenge(challenge_id: str = "jiashan_market:/jsmarket/xq/XQ2026-001.html", **changes) -> dict:
    record = {
        "challenge_id": challenge_id,
        "title": "5G小基站SAW滤波器高低温频偏大",
        "description": "希望找到成熟的TC-SAW工艺方案，目标插损≤2.0dB。",
        "field": "新一代信息技术",
        "budget_wan": 180.0,
        "deadline": date(2027, 6, 30),
        "issuer": "嘉善芯联射频科技有限公司",
        "region": "浙江省嘉兴市嘉善县",
        "cooperation": "合作开发",
        "url": "http://127.0.0.1:8765/jsmarket/xq/XQ2026-001.html",
        "source": "jiashan_market",
    }
    record.update(changes)
    return record


def _row(wh: Warehouse, listing_id: str = "CN101551481") -> dict:
    rows = wh.query("SELECT * FROM listings WHERE listing_id = ?", [listing_id])
    assert len(rows) == 1
    return rows[0]


def _count(wh: Warehouse, table: str) -> int:
    return wh.query(f"SELECT count(*) AS n FROM {table}")[0]["n"]


# --- upserts -----------------------------------------------------------------------------------


def test_upsert_inserts_then_the_same_load_is_unchanged(warehouse):
    batch = [listing(), listing("CN111181523", title="一种用于5G基站的体声波滤波器")]
    assert store.upsert_listings(warehouse, batch) == store.UpsertCounts(inserted=2)
    before = _row(warehouse)

    assert store.upsert_listings(warehouse, batch) == store.UpsertCounts(unchanged=2)
    after = _row(warehouse)
    assert _count(warehouse, "listings") == 2
    assert after["first_seen"] == before["first_seen"]
    assert after["last_changed"] == before["last_changed"]
    assert after["last_seen"] > before["last_seen"]
    assert after["content_hash"] == before["content_hash"]
    assert after["sources"] == ["google_patents"]


def test_a_changed_field_is_an_update(warehouse):
    store.upsert_listings(warehouse, [listing()])
    before = _row(warehouse)

    counts = store.upsert_listings(warehouse, [listing(legal_status="Active"), listing("CN2", title="新专利")])

    assert counts == store.UpsertCounts(inserted=1, updated=1)
    after = _row(warehouse)
    assert after["legal_status"] == "Active"
    assert after["last_changed"] > before["last_changed"]
    assert after["last_seen"] > before["last_seen"]
    assert after["first_seen"] == before["first_seen"]
    assert after["content_hash"] != before["content_hash"]


def test_a_new_url_alone_is_not_a_change(warehouse):
    store.upsert_listings(warehouse, [listing()])
    before = _row(warehouse)
    counts = store.upsert_listings(warehouse, [listing(url="https://patents.google.com/patent/CN101551481B/en")])
    assert counts == store.UpsertCounts(unchanged=1)
    after = _row(warehouse)
    assert after["url"] == "https://patents.google.com/patent/CN101551481B/en"  # the latest place it was seen
    assert after["last_changed"] == before["last_changed"]


def test_duplicates_in_one_batch_become_one_row_and_the_last_wins(warehouse):
    counts = store.upsert_listings(
        warehouse, [listing(title="第一版"), listing(title="第二版"), listing(title="最终版")]
    )
    assert counts == store.UpsertCounts(inserted=1, superseded=2)
    assert _count(warehouse, "listings") == 1
    assert _row(warehouse)["title"] == "最终版"


def test_the_same_listing_from_two_sources_keeps_both(warehouse):
    store.upsert_listings(warehouse, [listing(source="google_patents")])
    counts = store.upsert_listings(warehouse, [listing(source="cnipr", url="http://cnipr.example/CN101551481B")])
    assert counts == store.UpsertCounts(unchanged=1)  # same content, seen elsewhere
    row = _row(warehouse)
    assert row["sources"] == ["google_patents", "cnipr"]
    assert row["source"] == "cnipr"

    store.upsert_listings(warehouse, [listing(source="google_patents")])
    assert _row(warehouse)["sources"] == ["google_patents", "cnipr"]  # no source twice
    assert _count(warehouse, "listings") == 1


def test_an_inactive_listing_seen_again_is_active(warehouse):
    store.upsert_listings(warehouse, [listing()])
    warehouse.execute("UPDATE listings SET active = FALSE")
    store.upsert_listings(warehouse, [listing()])
    assert _row(warehouse)["active"] is True


def test_challenge_upsert_keeps_the_curation_status(warehouse):
    assert store.upsert_challenges(warehouse, [challenge()]) == store.UpsertCounts(inserted=1)
    warehouse.execute("UPDATE challenges SET status = '已关闭'")
    counts = store.upsert_challenges(warehouse, [challenge(budget_wan=200.0)])
    assert counts == store.UpsertCounts(updated=1)
    row = queries.get_challenge(warehouse, challenge()["challenge_id"])
    assert (row["budget_wan"], row["status"], row["deadline"]) == (200.0, "已关闭", date(2027, 6, 30))


def test_an_empty_batch_writes_nothing(warehouse):
    assert store.upsert_listings(warehouse, []) == store.UpsertCounts()
    assert _count(warehouse, "listings") == 0


# --- matches and reviews -------------------------------------------------------------------------

CID = "jiashan_market:/jsmarket/xq/XQ2026-001.html"


def proposal(listing_id: str, rank: int, score: float, challenge_id: str = CID) -> dict:
    return {
        "challenge_id": challenge_id,
        "listing_id": listing_id,
        "rank": rank,
        "score": score,
        "parts": {"relevance": score * 0.6, "coverage": score * 0.3, "field": score * 0.1},
        "matched_terms": ["滤波器", "SAW"],
    }


@pytest.fixture
def matched(warehouse):
    """One challenge, three listings, all three proposed by a first matching run."""
    store.upsert_challenges(warehouse, [challenge()])
    store.upsert_listings(warehouse, [listing("L1", title="一"), listing("L2", title="二"), listing("L3", title="三")])
    store.replace_matches(
        warehouse, "run-1", [CID], [proposal("L1", 1, 90.0), proposal("L2", 2, 80.0), proposal("L3", 3, 70.0)]
    )
    return warehouse


def _pairs(wh: Warehouse) -> dict[str, tuple[str, float]]:
    rows = wh.query("SELECT listing_id, run_id, score FROM matches WHERE challenge_id = ?", [CID])
    return {r["listing_id"]: (r["run_id"], r["score"]) for r in rows}


def test_replace_matches_keeps_reviewed_pairs_and_drops_stale_ones(matched):
    store.record_review(matched, challenge_id=CID, listing_id="L2", decision="shortlist", reviewer="wang")

    stored = store.replace_matches(matched, "run-2", [CID], [proposal("L1", 1, 95.0)])

    assert stored == 1
    assert _pairs(matched) == {
        "L1": ("run-2", 95.0),  # proposed again: new score
        "L2": ("run-1", 80.0),  # reviewed, not proposed again: kept as it was
    }  # L3: unreviewed and not proposed again, dropped


def test_replace_matches_leaves_other_challenges_alone(matched):
    other = "jiashan_market:/jsmarket/xq/XQ2026-002.html"
    store.replace_matches(matched, "run-1", [other], [proposal("L1", 1, 50.0, challenge_id=other)])
    store.replace_matches(matched, "run-2", [CID], [])
    assert _pairs(matched) == {}
    assert matched.query("SELECT listing_id FROM matches WHERE challenge_id = ?", [other]) == [{"listing_id": "L1"}]


def test_a_reviewed_pair_proposed_again_gets_the_new_score(matched):
    store.record_review(matched, challenge_id=CID, listing_id="L3", decision="contacted", reviewer="wang")
    store.replace_matches(matched, "run-2", [CID], [proposal("L3", 1, 99.0)])
    assert _pairs(matched) == {"L3": ("run-2", 99.0)}
    (row,) = queries.matches_for_challenge(matched, CID)
    assert (row["rank"], row["decision"], row["parts"]["relevance"]) == (1, "contacted", pytest.approx(59.4))


def test_reviews_are_an_append_only_log(matched):
    first = store.record_review(matched, challenge_id=CID, listing_id="L1", decision="shortlist", reviewer="wang")
    second = store.record_review(
        matched, challenge_id=CID, listing_id="L1", decision="contacted", reviewer="li", note="已电话联系"
    )
    assert second > first

    log = queries.reviews_for(matched, CID)
    assert [(r["review_id"], r["listing_id"], r["decision"], r["reviewer"]) for r in log] == [
        (first, "L1", "shortlist", "wang"),
        (second, "L1", "contacted", "li"),
    ]
    assert log[1]["note"] == "已电话联系"

    shown = {r["listing_id"]: r["decision"] for r in queries.matches_for_challenge(matched, CID)}
    assert shown == {"L1": "contacted", "L2": None, "L3": None}  # the latest decision per pair
    (queued,) = queries.challenge_match_counts(matched)
    assert (queued["n_matches"], queued["n_unreviewed"], queued["best_score"]) == (3, 2, 90.0)


def test_reject_needs_a_reason(matched):
    for reason in (None, "", "   "):
        with pytest.raises(ValueError, match="reject"):
            store.record_review(
                matched, challenge_id=CID, listing_id="L1", decision="reject", reviewer="wang", reason=reason
            )
    assert queries.reviews_for(matched, CID) == []


def test_an_unknown_decision_is_refused(matched):
    with pytest.raises(ValueError, match="unknown decision 'maybe'"):
        store.record_review(matched, challenge_id=CID, listing_id="L1", decision="maybe", reviewer="wang")
    assert _count(matched, "reviews") == 0


def test_rejected_pairs_are_those_whose_latest_decision_is_reject(matched):
    review = lambda lid, decision, reason=None: store.record_review(  # noqa: E731
        matched, challenge_id=CID, listing_id=lid, decision=decision, reviewer="wang", reason=reason
    )
    review("L1", "reject", "技术路线不符")
    review("L2", "reject", "单位已停产")
    review("L2", "shortlist")  # changed their mind
    review("L3", "shortlist")
    review("L3", "reject", "报价过高")

    assert queries.rejected_pairs(matched) == {(CID, "L1"), (CID, "L3")}
    visible = [r["listing_id"] for r in queries.matches_for_challenge(matched, CID)]
    assert visible == ["L2"]
    everything = queries.matches_for_challenge(matched, CID, include_rejected=True)
    assert [(r["listing_id"], r["decision"], r["reason"]) for r in everything] == [
        ("L1", "reject", "技术路线不符"),
        ("L2", "shortlist", None),
        ("L3", "reject", "报价过高"),
    ]
    assert _count(matched, "reviews") == 5


# --- round trip property -----------------------------------------------------------------------

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
_chinese = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=40)
_any_text = st.one_of(_text, _chinese, st.tuples(_chinese, _text).map("".join))

listings = st.fixed_dictionaries(
    {
        "listing_id": _any_text.filter(bool),
        "kind": st.sampled_from(["patent", "achievement"]),
        "title": _any_text,
        "abstract": _any_text,
        "claims": _any_text,
        "keywords": st.lists(_any_text, max_size=6),
        "applicants": st.lists(_any_text, max_size=3),
        "inventors": st.lists(_any_text, max_size=3),
        "ipc": st.lists(st.from_regex(r"[A-H]\d\d[A-Z]\d{1,3}/\d{2,4}", fullmatch=True), max_size=3),
        "publication_number": st.none() | _any_text,
        "application_number": st.none() | _any_text,
        "field": st.none() | _any_text,
        "maturity": st.none() | st.sampled_from(["小试", "中试", "产业化"]),
        "cooperation": st.none() | _any_text,
        "price_wan": st.none() | st.floats(min_value=0, max_value=1e7, allow_nan=False),
        "price_text": st.none() | _any_text,
        "contact": st.none() | _any_text,
        "region": st.none() | _any_text,
        "legal_status": st.none() | _any_text,
        "published_on": st.none() | st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
        "url": _any_text,
        "source": _any_text,
    }
)


@settings(max_examples=25, deadline=None)
@given(record=listings)
def test_a_listing_round_trips_through_the_warehouse(record):
    with tempfile.TemporaryDirectory() as folder:
        wh = Warehouse(Path(folder) / "roundtrip.duckdb", 30)
        migrate(wh)
        assert store.upsert_listings(wh, [record]) == store.UpsertCounts(inserted=1)
        columns = ", ".join(store.LISTING_COLUMNS)
        (stored,) = wh.query(f"SELECT {columns}, sources FROM listings")
        assert stored.pop("sources") == [record["source"]]
        assert stored == record
        assert store.upsert_listings(wh, [record]) == store.UpsertCounts(unchanged=1)


def test_every_decision_is_audited_with_before_and_after(warehouse):
    import json

    store.record_review(warehouse, challenge_id="C1", listing_id="L1", decision="shortlist", reviewer="wang")
    store.record_review(
        warehouse,
        challenge_id="C1",
        listing_id="L1",
        decision="signed",
        reviewer="wang",
        deal_amount_wan=120.0,
        deal_date=date(2026, 11, 20),
    )
    audit = warehouse.query("SELECT actor, role, action, entity_id, before, after FROM audit_log ORDER BY audit_id")
    assert [(a["actor"], a["role"], a["action"], a["entity_id"]) for a in audit] == [
        ("wang", "broker", "decide", "C1|L1")
    ] * 2
    assert audit[0]["before"] is None and json.loads(audit[1]["before"]) == {"decision": "shortlist"}
    assert json.loads(audit[1]["after"]) == {"decision": "signed", "deal_amount_wan": 120.0, "deal_date": "2026-11-20"}
    assert warehouse.query("SELECT deal_amount_wan FROM reviews WHERE decision = 'signed'") == [
        {"deal_amount_wan": 120.0}
    ]
