"""One technology, one card: certain keys, the Splink model on labelled real pairs, clusters in
the warehouse (incremental, stable ids, audit, a broker's split and merge), one card per cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawlers.validation import validate_listing
from devtools.entity_model import real_features
from jiebang import dedup
from jiebang.accounts import User
from matching.entity import cited_patent_keys, listing_keys, patent_key
from warehouse import entity_store, store, workspace_queries
from warehouse.gateway import Warehouse
from warehouse.migrations import migrate

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "zj_market" / "achievements.jsonl"
PAIRS = Path(__file__).parent / "fixtures" / "entity_pairs.tsv"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("ZL201720001285.X", "CN201720001285"),  # grant certificate: application number + check digit
        ("ZL 2017 2 0001285.X", "CN201720001285"),  # spaces
        ("201720001285X", "CN201720001285"),  # check digit without its dot
        ("CN201720001285.7", "CN201720001285"),
        ("201510383840.5", "CN201510383840"),
        ("CN 101551481 B", "CN101551481"),  # publication number with kind code
        ("CN101551481A", "CN101551481"),
        ("CN203456789U", "CN203456789"),
        ("101551481", "CN101551481"),
        ("ZL98123456.7", "CN98123456"),  # before 2003: 8 digits + check digit
        ("ZL０１２３４５６７．８", "CN01234567"),  # full-width digits and dot (2001, utility model)
        ("CN2009101277538A", "CN200910127753"),  # Google Patents: check digit and kind A
        ("CN200910127753A", "CN200910127753"),  # EPO docdb: kind A, no check digit
        ("CN98123456A", "CN98123456"),  # EPO docdb before 2003: 8 digits, no check digit
        ("CN98123456", "CN98123456"),
        ("CN06123456A", None),  # 2006 needs the 12-digit form here too
        ("CN1123456A", None),  # 7 digits: an old publication number, not an application
        ("ZL06123456.7", None),  # 2006 needs the 12-digit form
        ("EP99203729A", None),  # another office's application
        ("CNA20050658.7", None),  # a plant variety right, not a patent
        ("12345", None),
        ("", None),
    ],
)
def test_patent_key_of_any_form(raw: str, key: str | None):
    assert patent_key(raw) == key


@pytest.mark.unit
def test_cited_keys_found_in_text_but_not_variety_rights():
    text = "本产品根据泉州师范学院专利技术（ZL201720001285.X）；发明专利申请号：201810162726.3；品种权号：CNA20050658.7"
    assert cited_patent_keys(text) == ["CN201720001285", "CN201810162726"]


@pytest.mark.unit
@given(
    year=st.integers(2003, 2025),
    kind=st.sampled_from("12389"),
    serial=st.integers(0, 9_999_999),
    check=st.sampled_from("0123456789X"),
    prefix=st.sampled_from(["", "ZL", "CN", "zl ", "ZL"]),
    dot=st.sampled_from([".", "", " . "]),
    spaced=st.booleans(),
)
def test_every_writing_of_an_application_number_has_one_key(year, kind, serial, check, prefix, dot, spaced):
    digits = f"{year}{kind}{serial:07d}"
    body = f"{digits[:4]} {digits[4]} {digits[5:]}" if spaced else digits
    assert patent_key(f"{prefix}{body}{dot}{check}") == f"CN{digits}" == patent_key(digits)
    assert patent_key(f"CN{digits}{check}A") == f"CN{digits}" == patent_key(f"CN{digits}A")  # databases' kind A
    assert cited_patent_keys(f"专利号：{prefix}{body}{dot}{check}。") == [f"CN{digits}"]
    # A listing's own application number is one of its keys, however written, beside its publication.
    assert listing_keys("CN101551481B", f"{prefix}{body}{dot}{check}") == ["CN101551481", f"CN{digits}"]


@pytest.mark.unit
def test_clusters_honour_merges_and_splits_and_keep_the_oldest_id():
    seen = {"a": 1, "b": 2, "c": 3, "d": 4}
    links = [("a", "b", 0.9), ("b", "c", 0.8)]
    assert dedup.clusters_of(seen, links) == {"a": "a", "b": "a", "c": "a"}
    assert dedup.clusters_of(seen, links, splits=[("a", "c")]) == {"a": "a", "b": "a"}
    assert dedup.clusters_of(seen, links, merges=[("c", "d")], splits=[("b", "c")]) == {
        "a": "a",
        "b": "a",
        "c": "c",
        "d": "c",
    }
    before, after = {"a": "a", "b": "a", "c": "a"}, {"a": "a", "b": "a", "c": "c", "d": "c"}
    assert [(e["action"], e["cluster_id"], e["before"]) for e in dedup.audit_changes(before, after)] == [
        ("merge", "c", ["a", "d"]),
        ("split", "a", ["a", "c"]),
    ]


@pytest.mark.unit
def test_one_card_per_cluster_keeps_the_best_ranked_member():
    rows = [{"challenge_id": "q", "listing_id": x, "rank": i + 1, "score": 1 - i / 10} for i, x in enumerate("abcd")]
    kept = dedup.one_per_cluster(rows, {"a": "a", "c": "a", "b": "b"})
    assert [(r["listing_id"], r["rank"], r["score"]) for r in kept] == [("a", 1, 1.0), ("b", 2, 0.9), ("d", 3, 0.7)]


@pytest.mark.integration
@pytest.mark.skipif(not REAL.exists(), reason=f"real market data absent ({REAL}): nothing to measure on")
def test_model_precision_and_recall_on_the_labelled_real_pairs():
    from warehouse import entity_links

    features = real_features(REAL)
    model = entity_links.train(features)
    linked = {(a, b) for a, b, _ in entity_links.predict(features, model, dedup.MATCH_THRESHOLD)}
    linked |= dedup.certain_links(features)
    lines = [line.split("\t") for line in PAIRS.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    pairs = [(min(a, b), max(a, b), label) for a, b, label, _ in lines[1:]]
    assert len(pairs) >= 300 and {label for *_, label in pairs} == {"same", "not_same"}
    tp = sum((a, b) in linked and label == "same" for a, b, label in pairs)
    fp = sum((a, b) in linked and label == "not_same" for a, b, label in pairs)
    fn = sum((a, b) not in linked and label == "same" for a, b, label in pairs)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"precision {precision:.3f} recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn})")
    assert precision >= 0.98
    assert recall >= 0.90


# --- clusters in a warehouse file ------------------------------------------------------------------

TECHS = [
    ("一种智能温室环境控制系统", "温室内温度湿度光照二氧化碳浓度由传感器采集，控制器按作物模型调节风机湿帘遮阳网。"),
    (
        "锂离子电池耐高温复合隔膜及其制备方法",
        "无纺布预处理引入活性基团，溶胶凝胶法涂覆得到耐高温复合隔膜，用于动力锂电池。",
    ),
    (
        "基于机器视觉的零件尺寸在线测量装置",
        "工业相机镜头光源和视觉控制器组成，测量距离宽度角度和圆半径，用于汽车零部件。",
    ),
    ("高产抗病小麦新品种选育技术", "以抗条锈病材料为母本杂交选育，区试增产百分之十二，适合旱地种植。"),
    ("一种农村生活污水一体化处理设备", "厌氧好氧膜生物反应器一体化设计，出水达到一级A标准，适合分散式农户。"),
    ("石墨烯导热涂料及其制备工艺", "氧化石墨烯还原后与树脂复合，导热系数提高三倍，用于电子散热器件。"),
]


def _listing(listing_id: str, source: str, title: str, abstract: str, **extra) -> dict:
    return validate_listing(
        {
            "record_type": "listing",
            "kind": "achievement",
            "listing_id": listing_id,
            "title": title,
            "abstract": abstract,
            "field": "新材料",
            "url": f"http://127.0.0.1:8765/{source}/{listing_id}",
            "source": source,
            **extra,
        }
    )


BROKER = User("wang", "王经纪", "broker")
FIRM_USER = User("hq", "企业", "firm", firm="某企业")


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    from tests.workspace_data import register

    wh = Warehouse(tmp_path / "wh.duckdb")
    migrate(wh)
    register(wh, BROKER, FIRM_USER)
    return wh


def _market(n_techs: int = len(TECHS)) -> list[dict]:
    """Each technology listed by the provincial market and by its university; the first also
    by CNIPR as a patent that the market's copy cites; plus one-off listings."""
    out = []
    for i, (title, text) in enumerate(TECHS[:n_techs]):
        out.append(_listing(f"zj:/a{i}", "zj", title, text + f"（专利号：ZL20191{i:07d}.X）" if i == 0 else text))
        out.append(_listing(f"uni:/c{i}", "uni", "一种" + title if i % 2 else title, "项目简介：" + text))
    out.append(
        _listing(
            "cnipr:CN110000001", "cnipr", "温室控制方法", "一种温室控制方法。", publication_number="ZL201910000000.X"
        )
    )
    for j, (title, text) in enumerate(
        [
            ("太阳能光伏板自动清洗机器人", "履带式机器人沿光伏板行走，毛刷与喷水清洁，无需人工。"),
            ("中药材黄芪高效栽培技术", "选地整地、种子处理、覆膜栽培，亩产提高百分之二十。"),
        ]
    ):
        out.append(_listing(f"zj:/b{j}", "zj", title, text))
    return out


def _battery_challenge_matched(warehouse: Warehouse, *, linked: bool) -> dict:
    """The market's listings stored (and linked when `linked`) and a battery-separator challenge,
    mkt:/q1, matched against them; returns the arguments that match it again."""
    from datetime import date

    from jiebang import matching_run

    store.upsert_listings(warehouse, _market())
    if linked:
        dedup.run(warehouse)
    store.upsert_challenges(
        warehouse,
        [
            {
                "challenge_id": "mkt:/q1",
                "title": "锂电池隔膜耐高温",
                "description": "需要耐高温的锂离子电池复合隔膜",
                "url": "http://127.0.0.1:8765/mkt/q1",
                "source": "mkt",
            }
        ],
    )
    match = dict(today=date(2026, 1, 1), top_k=10, index_dir=warehouse.path.parent / "index")
    matching_run.match_one_challenge(warehouse, "mkt:/q1", **match)
    return match


def _cards(wh: Warehouse) -> dict[str, str]:
    return entity_store.cluster_ids(wh, [r["listing_id"] for r in wh.query("SELECT listing_id FROM listings")])


@pytest.mark.integration
def test_clusters_are_stable_incremental_audited_and_a_brokers_decision_wins(warehouse: Warehouse):
    store.upsert_listings(warehouse, _market())
    first = dedup.run(warehouse)
    assert first["trained"] and first["relinked"] == 15
    cards = _cards(warehouse)
    for i in range(len(TECHS)):  # every technology is one card, named after its oldest copy
        assert cards[f"uni:/c{i}"] == cards[f"zj:/a{i}"]
    assert cards["cnipr:CN110000001"] == cards["zj:/a0"]  # the patent the achievement cites
    assert cards["zj:/b0"] == "zj:/b0" and cards["zj:/b1"] == "zj:/b1"
    assert len({cards[f"zj:/a{i}"] for i in range(len(TECHS))}) == len(TECHS)
    merges = [e for e in entity_store.audit_entries(warehouse) if e["action"] == "merge"]
    assert len(merges) == len(TECHS)

    # Nothing changed: the next run links nobody again, ids and audit stay as they were.
    again = dedup.run(warehouse)
    assert (again["trained"], again["relinked"], again["merges"], again["splits"]) == (False, 0, 0, 0)
    assert _cards(warehouse) == cards

    # A new copy of technology 2 joins its cluster (the id stays the oldest member's); only it is linked.
    title, text = TECHS[2]
    store.upsert_listings(warehouse, [_listing("gp:/x2", "gp", title, "摘要：" + text)])
    later = dedup.run(warehouse)
    assert later["relinked"] == 1 and later["merges"] == 1
    assert _cards(warehouse)["gp:/x2"] == cards["zj:/a2"]

    # A broker splits a copy out; the model's link no longer holds it, even after a full run.
    dedup.split(warehouse, BROKER, "uni:/c3")
    assert _cards(warehouse)["uni:/c3"] == "uni:/c3"
    dedup.run(warehouse, full=True)
    assert _cards(warehouse)["uni:/c3"] == "uni:/c3"
    assert _cards(warehouse)["zj:/a3"] == cards["zj:/a3"] or _cards(warehouse)["zj:/a3"] == "zj:/a3"
    # … and merges two listings the model keeps apart.
    dedup.merge(warehouse, BROKER, "zj:/b0", "zj:/b1")
    dedup.run(warehouse, full=True)
    after = _cards(warehouse)
    assert after["zj:/b0"] == after["zj:/b1"] == "zj:/b0"
    actions = [(e["action"], e["actor"]) for e in entity_store.audit_entries(warehouse)]
    assert ("split", "wang") in actions and ("merge", "wang") in actions


# A patent its source lists by publication number and application number (2008100123456: no
# dot, check digit 6), an achievement that cites the application number as a grant certificate
# writes it, and one citing another patent. Their titles and owners differ: only the number links.
APPLIED_PATENT = validate_listing(
    {
        "record_type": "listing",
        "kind": "patent",
        "listing_id": "CN101234567",
        "publication_number": "CN101234567B",
        "application_number": "2008100123456",
        "title": "一种锂离子电池隔膜的陶瓷涂覆方法",
        "abstract": "本发明公开了一种隔膜涂覆方法，将氧化铝浆料涂布于聚乙烯基膜两面后烘干。",
        "applicants": ["大连理工大学"],
        "url": "https://patents.google.com/patent/CN101234567B",
        "source": "cnipa",
    }
)
CITING = _listing("zj:/p1", "zj", "高安全动力电池隔膜产业化", "依托专利ZL200810012345.6，已建成中试线，寻求量产合作。")
OTHER = _listing("zj:/p2", "zj", TECHS[3][0], TECHS[3][1] + "（专利号：ZL200810012346.X）")


@pytest.mark.integration
@pytest.mark.parametrize(
    "new",
    [None, "CN101234567", "zj:/p1"],
    ids=["full run", "nightly: the patent is new", "nightly: the achievement is new"],
)
def test_a_patent_and_what_cites_its_application_number_are_one_card(warehouse: Warehouse, new: str | None):
    listings = {r["listing_id"]: r for r in (APPLIED_PATENT, CITING, OTHER)}
    store.upsert_listings(warehouse, [r for i, r in listings.items() if i != new])
    dedup.run(warehouse)
    if new is not None:
        store.upsert_listings(warehouse, [listings[new]])
        nightly = dedup.run(warehouse)
        assert (nightly["trained"], nightly["relinked"]) == (False, 1)
    cards = _cards(warehouse)
    assert cards["CN101234567"] == cards["zj:/p1"] != cards["zj:/p2"]
    assert warehouse.query("SELECT left_id, right_id, rule FROM entity_links") == [
        {"left_id": "CN101234567", "right_id": "zj:/p1", "rule": "patent_key"}
    ]


@pytest.mark.integration
def test_features_computed_by_other_code_make_the_next_run_a_full_pass(warehouse: Warehouse):
    from matching.entity import FEATURES_VERSION

    store.upsert_listings(warehouse, _market())
    dedup.run(warehouse)
    assert entity_store.state(warehouse)["features_version"] == FEATURES_VERSION
    cards = _cards(warehouse)
    # As the warehouse is after a release whose features differ: nothing else changed.
    warehouse.execute("UPDATE entity_state SET features_version = ?", [FEATURES_VERSION - 1])
    upgraded = dedup.run(warehouse)
    assert (upgraded["trained"], upgraded["relinked"]) == (True, 15)  # every listing, a new model
    assert entity_store.state(warehouse)["features_version"] == FEATURES_VERSION
    assert _cards(warehouse) == cards
    assert (dedup.run(warehouse)["trained"], dedup.run(warehouse)["relinked"]) == (False, 0)


@pytest.mark.integration
def test_a_source_without_the_application_number_keeps_the_one_another_source_gave(warehouse: Warehouse):
    store.upsert_listings(warehouse, [APPLIED_PATENT, CITING])
    dedup.run(warehouse)
    # Google Patents' page of the same patent gives no 申请号; its other columns win as usual.
    again = {**APPLIED_PATENT, "application_number": None, "source": "google_patents", "title": "陶瓷涂覆隔膜"}
    store.upsert_listings(warehouse, [again])
    dedup.run(warehouse)
    [row] = warehouse.query("SELECT application_number, title FROM listings WHERE listing_id = 'CN101234567'")
    assert row == {"application_number": "2008100123456", "title": "陶瓷涂覆隔膜"}
    cards = _cards(warehouse)
    assert cards["CN101234567"] == cards["zj:/p1"]


@pytest.mark.integration
def test_a_listing_that_drops_a_number_leaves_the_numbers_other_holders_linked(warehouse: Warehouse):
    # The chain CN101234567 - zj:/p1 - zj:/p3 holds the three together; the nightly run after
    # zj:/p1 stops citing the number relinks zj:/p1 only, and must still link the other two.
    also_citing = _listing("zj:/p3", "zj", "隔膜陶瓷涂覆中试", "本成果基于专利 ZL 2008 1 0012345.6 开发，可转让。")
    store.upsert_listings(warehouse, [APPLIED_PATENT, CITING, also_citing])
    dedup.run(warehouse)
    assert len({_cards(warehouse)[i] for i in ("CN101234567", "zj:/p1", "zj:/p3")}) == 1

    store.upsert_listings(warehouse, [{**CITING, "abstract": "已建成中试线，寻求量产合作。"}])
    nightly = dedup.run(warehouse)
    assert (nightly["trained"], nightly["relinked"]) == (False, 1)
    cards = _cards(warehouse)
    assert cards["CN101234567"] == cards["zj:/p3"] != cards["zj:/p1"]
    assert warehouse.query("SELECT left_id, right_id, rule FROM entity_links") == [
        {"left_id": "CN101234567", "right_id": "zj:/p3", "rule": "patent_key"}
    ]


@pytest.mark.integration
def test_only_curators_split_or_merge(warehouse: Warehouse):
    from jiebang.errors import AccessDenied

    store.upsert_listings(warehouse, _market())
    dedup.run(warehouse)
    with pytest.raises(AccessDenied):
        dedup.split(warehouse, FIRM_USER, "uni:/c1")
    with pytest.raises(AccessDenied):
        dedup.merge(warehouse, None, "zj:/b0", "zj:/b1")
    assert _cards(warehouse)["uni:/c1"] == _cards(warehouse)["zj:/a1"]


@pytest.mark.integration
def test_stored_matches_show_one_card_per_cluster_and_a_rejection_covers_every_copy(warehouse: Warehouse):
    from jiebang import broker, matching_run

    match = _battery_challenge_matched(warehouse, linked=True)
    stored = warehouse.query("SELECT listing_id FROM matches WHERE challenge_id = 'mkt:/q1' ORDER BY rank")
    clusters = entity_store.cluster_ids(warehouse, [r["listing_id"] for r in stored])
    assert len(set(clusters.values())) == len(stored)  # never the same technology twice
    assert clusters[stored[0]["listing_id"]] == _cards(warehouse)["zj:/a1"]  # the battery separator, once
    shown = stored[0]["listing_id"]
    others = dedup.other_sources(warehouse, shown)
    assert [m["listing_id"] for m in others] == [x for x in ("uni:/c1", "zj:/a1") if x != shown]
    assert others[0]["url"].startswith("http://127.0.0.1:8765/")

    broker.decide(warehouse, BROKER, "mkt:/q1", shown, "reject", reason="技术不对口")
    matching_run.match_one_challenge(warehouse, "mkt:/q1", **match)
    again = warehouse.query("SELECT listing_id FROM matches WHERE challenge_id = 'mkt:/q1'")
    proposed = {r["listing_id"] for r in again} - {shown}
    assert not proposed & {"zj:/a1", "uni:/c1"}  # the other source's copy does not come back


@pytest.mark.integration
def test_a_shortlisted_card_stays_the_clusters_one_card_and_exports_list_every_source(warehouse: Warehouse):
    from jiebang import broker, matching_run

    match = _battery_challenge_matched(warehouse, linked=True)
    shown = warehouse.query("SELECT listing_id FROM matches WHERE challenge_id = 'mkt:/q1' AND rank = 1")[0][
        "listing_id"
    ]
    broker.decide(warehouse, BROKER, "mkt:/q1", shown, "shortlist")
    # The shortlisted copy is cut to a bare line, so the other copy now ranks first; a broker's
    # merge keeps the two one technology whatever the model makes of the bare copy.
    other = ({"zj:/a1", "uni:/c1"} - {shown}).pop()
    title = warehouse.query("SELECT title FROM listings WHERE listing_id = ?", [shown])[0]["title"]
    store.upsert_listings(warehouse, [_listing(shown, shown.split(":")[0], title, "见附件。")])
    dedup.merge(warehouse, BROKER, shown, other)
    dedup.run(warehouse)
    assert _cards(warehouse)[other] == _cards(warehouse)[shown]
    matching_run.match_one_challenge(warehouse, "mkt:/q1", **match)
    stored = {r["listing_id"] for r in warehouse.query("SELECT listing_id FROM matches WHERE challenge_id = 'mkt:/q1'")}
    assert shown in stored and other not in stored  # the decided card, once

    exported = broker.export_pipeline(warehouse, BROKER, "csv").decode("utf-8-sig")
    assert "同一技术的其他来源" in exported and f"/{other}" in exported


@pytest.mark.integration
def test_dedup_command_links_on_demand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from jiebang.cli import app
    from jiebang.pipeline import open_warehouse

    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(path))
    store.upsert_listings(open_warehouse(path, 30), _market())
    result = CliRunner().invoke(app, ["dedup"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output.strip().splitlines()[-1])
    assert (stats["listings"], stats["merges"], stats["trained"]) == (15, len(TECHS), True)
    again = CliRunner().invoke(app, ["dedup"])
    assert json.loads(again.output.strip().splitlines()[-1])["relinked"] == 0


@pytest.mark.integration
def test_the_broker_page_lists_a_cards_other_sources(warehouse: Warehouse):

    from streamlit.testing.v1 import AppTest

    from jiebang.settings import Settings
    from tests.conftest import ROOT

    _battery_challenge_matched(warehouse, linked=True)
    shown = warehouse.query("SELECT listing_id FROM matches WHERE challenge_id = 'mkt:/q1' AND rank = 1")[0][
        "listing_id"
    ]
    other = ({"zj:/a1", "uni:/c1"} - {shown}).pop()
    at = AppTest.from_file(str(ROOT / "ui" / "pages" / "broker.py"), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=warehouse.path)
    at.session_state["user"] = BROKER
    at.run()
    assert not at.exception
    lines = [c.value for c in at.caption if "同一技术的其他来源" in c.value]
    assert any(f"/{other}" in line for line in lines)  # under the separator card: its other copy
    # The broker says it is not the same technology: split, and the hand decision holds.
    at.button(key=f"split|mkt:/q1|{shown}|{other}").click().run()
    assert not at.exception
    assert any("已拆分" in s.value for s in at.success)
    assert dedup.other_sources(warehouse, shown) == []
    dedup.run(warehouse, full=True)  # the model links them again, the broker's split wins
    assert dedup.other_sources(warehouse, shown) == []


# --- merging by hand: on a card, on a listing's page ------------------------------------------------

SOLVER = User("team1", "浙大材料团队", "solver")


def _two_cards(warehouse: Warehouse) -> None:
    """The battery separator listed by the market (zj:/a1) and its university (uni:/c1), not
    linked (no run yet: as if the model had missed them), both proposed for mkt:/q1."""
    _battery_challenge_matched(warehouse, linked=False)
    ranked = warehouse.query("SELECT listing_id FROM matches WHERE challenge_id = 'mkt:/q1' ORDER BY rank")
    assert [r["listing_id"] for r in ranked][:2] == ["zj:/a1", "uni:/c1"]


@pytest.mark.integration
def test_a_merge_shows_one_card_on_the_next_read_and_the_decided_card_keeps_its_decision(warehouse: Warehouse):
    from jiebang import broker

    _two_cards(warehouse)
    before = broker.match_page(warehouse, BROKER, "mkt:/q1")
    broker.decide(warehouse, BROKER, "mkt:/q1", "uni:/c1", "shortlist")  # the lower-ranked copy
    dedup.merge(warehouse, BROKER, "zj:/a1", "uni:/c1")  # no matching run after it

    page = broker.match_page(warehouse, BROKER, "mkt:/q1")
    assert page.total == before.total - 1
    [card] = [r for r in page.rows if r["listing_id"] in {"zj:/a1", "uni:/c1"}]
    assert (card["listing_id"], card["decision"]) == ("uni:/c1", "shortlist")
    assert [m["listing_id"] for m in card["other_sources"]] == ["zj:/a1"]
    assert broker.match_card(warehouse, BROKER, "mkt:/q1", "zj:/a1") is None
    assert broker.review_queue_page(warehouse, BROKER).rows[0]["n_matches"] == before.total - 1
    # The other way round: a split and a decision on the best-ranked copy, merged again.
    dedup.split(warehouse, BROKER, "uni:/c1")
    assert broker.match_page(warehouse, BROKER, "mkt:/q1").total == before.total
    broker.decide(warehouse, BROKER, "mkt:/q1", "zj:/a1", "contacted")
    dedup.merge(warehouse, BROKER, "uni:/c1", "zj:/a1")
    shown = {r["listing_id"]: r["decision"] for r in broker.match_page(warehouse, BROKER, "mkt:/q1").rows}
    assert shown.get("zj:/a1") == "contacted" and "uni:/c1" not in shown  # decided last, kept
    # The shortlist export is the page's: one row, which names the other source.
    [row] = workspace_queries.shortlist_rows(warehouse, "mkt:/q1")
    assert row["listing_id"] == "zj:/a1"
    exported = broker.export_shortlist(warehouse, BROKER, "mkt:/q1", "csv").decode("utf-8-sig")
    assert "uni: http://127.0.0.1:8765/uni/uni:/c1" in exported


@pytest.mark.integration
def test_merge_by_number_takes_the_number_a_card_shows_and_names_the_field_when_wrong(warehouse: Warehouse):
    from jiebang.display import listing_number
    from jiebang.errors import AccessDenied, InvalidDecision

    store.upsert_listings(warehouse, _market())
    number = listing_number({"listing_id": "uni:/c1", "kind": "achievement"})
    assert number.startswith("CG")
    for user in (FIRM_USER, SOLVER, None):
        with pytest.raises(AccessDenied):
            dedup.merge_by_number(warehouse, user, "zj:/a1", number)
    assert entity_store.decisions(warehouse) == []
    for typed, says in (
        ("", "必填"),
        ("CG00000000", "找不到"),
        (listing_number({"listing_id": "zj:/a1", "kind": "achievement"}), "自身"),
    ):
        with pytest.raises(InvalidDecision, match=f"^成果编号：.*{says}"):
            dedup.merge_by_number(warehouse, BROKER, "zj:/a1", typed)
    assert dedup.merge_by_number(warehouse, BROKER, "zj:/a1", f" {number.lower()} ") == "uni:/c1"
    assert [m["listing_id"] for m in dedup.other_sources(warehouse, "zj:/a1")] == ["uni:/c1"]
    with pytest.raises(InvalidDecision, match="同属一项技术"):
        dedup.merge_by_number(warehouse, BROKER, "uni:/c1", "zj:/a1")  # by id, already one
    # A patent by its publication number, as its card shows it.
    assert dedup.merge_by_number(warehouse, BROKER, "zj:/a0", "ZL201910000000.X") == "cnipr:CN110000001"


def _broker_page(warehouse: Warehouse, **state) -> AppTest:
    from streamlit.testing.v1 import AppTest

    from jiebang.settings import Settings
    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "ui" / "pages" / "broker.py"), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=warehouse.path)
    at.session_state["user"] = BROKER
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


@pytest.mark.integration
def test_a_broker_merges_two_cards_from_the_card_and_the_decided_one_stays(warehouse: Warehouse):
    from jiebang import broker

    _two_cards(warehouse)
    broker.decide(warehouse, BROKER, "mkt:/q1", "uni:/c1", "shortlist")
    at = _broker_page(warehouse, **{"merge|mkt:/q1|zj:/a1": True})  # the card's 合并 popover open
    assert not at.exception
    offered = [b.label for b in at.button if str(b.key).startswith("merge|mkt:/q1|zj:/a1|")]
    assert offered and all(label.startswith("合并：") for label in offered)
    assert any("CG" in label and "耐高温复合隔膜" in label for label in offered)  # uni:/c1 by number and title
    at.button(key="merge|mkt:/q1|zj:/a1|uni:/c1").click().run()
    assert not at.exception
    assert [s.value for s in at.success if "已合并" in s.value]
    keys = {str(b.key) for b in at.button}
    assert "shortlist|mkt:/q1|uni:/c1" in keys and "shortlist|mkt:/q1|zj:/a1" not in keys  # one card
    assert any(c.value.startswith("同一技术的其他来源（1）") and "/zj:/a1" in c.value for c in at.caption)
    assert any(c.value == "状态：入围" for c in at.caption)  # the decision stays on the card shown


def _listing_page(warehouse: Warehouse, user: User, listing_id: str) -> AppTest:
    from streamlit.testing.v1 import AppTest

    from jiebang.settings import Settings
    from tests.conftest import ROOT
    from tests.workspace_data import register

    at = AppTest.from_file(str(ROOT / "ui" / "pages" / "listing.py"), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=warehouse.path)
    at.session_state["user"] = register(warehouse, user)[0]
    at.query_params["id"] = listing_id
    return at.run()


@pytest.mark.integration
def test_a_broker_merges_on_a_listings_page_by_its_number_and_others_cannot(warehouse: Warehouse):
    from jiebang.display import listing_number

    store.upsert_listings(warehouse, _market())
    at = _listing_page(warehouse, BROKER, "zj:/a1")
    assert not at.exception and "同一技术的其他来源" not in [s.value for s in at.subheader]
    submit = next(b for b in at.button if b.label == "合并为同一技术")
    at.text_input(key="merge_number").input("CG12345678")
    submit.click().run()
    assert [e.value for e in at.error] == ["成果编号：找不到在架成果 CG12345678，请核对编号"]
    assert entity_store.decisions(warehouse) == []
    at.text_input(key="merge_number").input(listing_number({"listing_id": "uni:/c1", "kind": "achievement"}))
    next(b for b in at.button if b.label == "合并为同一技术").click().run()
    assert not at.exception and [s.value for s in at.success if "已合并" in s.value]
    assert "同一技术的其他来源（1）" in [s.value for s in at.subheader]
    assert any("uni:/c1" in m.value for m in at.markdown)  # its link
    assert len(set(entity_store.cluster_ids(warehouse, ["zj:/a1", "uni:/c1"]).values())) == 1

    firm = _listing_page(warehouse, FIRM_USER, "uni:/c1")
    assert not firm.exception and "同一技术的其他来源（1）" in [s.value for s in firm.subheader]
    assert not firm.text_input and not [b for b in firm.button if b.label == "合并为同一技术"]
    solver = _listing_page(warehouse, SOLVER, "uni:/c1")
    assert solver.error and not solver.text_input
