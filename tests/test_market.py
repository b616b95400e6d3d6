"""The pages a market has, at the service level on a real DuckDB file (tests/workspace_data.py):
a challenge's and a listing's detail page by their link keys, the board's sort and filters, and
the 成果库 search."""

from __future__ import annotations

import pytest

from jiebang import market, solver
from jiebang.accounts import User
from jiebang.errors import AccessDenied, InvalidValue, NotFound
from tests.workspace_data import ADMIN, BROKER, FIRM, FIRM_USER, TODAY, register, seed

pytestmark = pytest.mark.integration

OTHER_FIRM = User("other", "别家", "firm", firm="嘉善别家科技有限公司")


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    warehouse = seed(tmp_path_factory.mktemp("market") / "market.duckdb")
    register(warehouse, OTHER_FIRM)
    return warehouse


def _ref(challenge_id: str) -> str:
    return market.challenge_ref(challenge_id)


def test_a_challenge_ref_is_the_boards_key(wh):
    refs = {row["title"]: row["ref"] for row in solver.board(wh, today=TODAY).rows}
    assert refs["锂电池隔膜耐热不足"] == _ref("mkt:/1")
    assert refs["氢燃料电池双极板腐蚀"] == _ref("firm:anon")


def test_the_public_sees_a_challenge_exactly_as_the_board_shows_it(wh):
    board_row = next(r for r in solver.board(wh, today=TODAY).rows if r["ref"] == _ref("firm:anon"))
    view = market.challenge_page(wh, None, _ref("firm:anon"), today=TODAY)
    assert (view.full, view.matches) == (False, [])
    assert view.row == board_row
    assert view.row["issuer"] == "匿名企业" and view.row["url"] is None
    assert FIRM not in repr(view.row) and "氢途" not in repr(view.row) and "firm:anon" not in repr(view.row)
    # Another firm is the public too.
    assert market.challenge_page(wh, OTHER_FIRM, _ref("firm:anon"), today=TODAY).row == board_row


@pytest.mark.parametrize("challenge_id", ["firm:draft", "mkt:/3", "mkt:/old"], ids=["draft", "pending", "expired"])
def test_what_the_board_does_not_show_is_not_found_for_the_public(wh, challenge_id):
    for viewer in (None, OTHER_FIRM):
        with pytest.raises(NotFound, match="未找到该需求"):
            market.challenge_page(wh, viewer, _ref(challenge_id), today=TODAY)


@pytest.mark.parametrize("ref", ["", "nonsense", "0123456789abcdef", "'; DROP TABLE challenges; --"])
def test_an_unknown_or_malformed_ref_is_not_found(wh, ref):
    with pytest.raises(NotFound, match="未找到该需求"):
        market.challenge_page(wh, BROKER, ref, today=TODAY)
    assert wh.query("SELECT count(*) AS n FROM challenges")[0]["n"] == 6


def test_a_broker_sees_any_challenge_in_full_with_its_matches(wh):
    view = market.challenge_page(wh, BROKER, _ref("firm:anon"), today=TODAY)
    assert view.full and not view.own
    assert (view.row["challenge_id"], view.row["firm"], view.row["anonymous"]) == ("firm:anon", FIRM, True)
    assert [(m["listing_id"], m["score"]) for m in view.matches] == [("CN2", 75.0), ("CN3", 55.0), ("zju:/a1", 15.0)]
    assert view.row["n_applications"] == 0 and view.row["n_matches"] == 3
    draft = market.challenge_page(wh, ADMIN, _ref("mkt:/3"), today=TODAY)
    assert draft.row["status"] == "待审核"


def test_a_firm_sees_its_own_challenge_in_full_even_as_a_draft(wh):
    view = market.challenge_page(wh, FIRM_USER, _ref("firm:draft"), today=TODAY)
    assert (view.full, view.own, view.row["title"], view.matches) == (True, True, "草稿需求不公开", [])


def test_a_listing_page_for_signed_in_users_only(wh):
    with pytest.raises(AccessDenied, match="请先登录"):
        market.listing_page(wh, None, "CN1")
    view = market.listing_page(wh, FIRM_USER, "zju:/a1")
    assert (view.row["title"], view.row["maturity"], view.challenges) == ("高耐热陶瓷涂覆隔膜", "中试", [])
    assert "content_hash" not in view.row
    broker_view = market.listing_page(wh, BROKER, "zju:/a1")
    assert sorted((c["ref"], c["score"]) for c in broker_view.challenges) == sorted(
        [(_ref("mkt:/1"), 60.0), (_ref("firm:anon"), 15.0)]
    )
    for unknown in ("", None, "CN404"):
        with pytest.raises(NotFound, match="未找到该成果"):
            market.listing_page(wh, BROKER, unknown)


def test_the_board_sorts_by_budget_and_deadline(wh):
    def titles(order):
        return [r["title"] for r in solver.board(wh, today=TODAY, order=order).rows]

    assert titles("budget_desc") == ["锂电池隔膜耐热不足", "氢燃料电池双极板腐蚀", "体外诊断试剂稳定性差"]  # 面议 last
    assert titles("budget_asc") == ["氢燃料电池双极板腐蚀", "锂电池隔膜耐热不足", "体外诊断试剂稳定性差"]
    assert titles("deadline") == ["氢燃料电池双极板腐蚀", "锂电池隔膜耐热不足", "体外诊断试剂稳定性差"]  # 长期 last
    with pytest.raises(InvalidValue, match="未知排序"):
        solver.board(wh, today=TODAY, order="c.title; DROP TABLE challenges")


def test_the_board_filters_by_region_and_budget(wh):
    assert solver.board_regions(wh, today=TODAY) == ["上海市", "江苏省", "浙江省"]

    def titles(**kw):
        return sorted(r["title"] for r in solver.board(wh, today=TODAY, **kw).rows)

    assert titles(region="浙江省") == ["锂电池隔膜耐热不足"]
    assert titles(region="上海市") == ["氢燃料电池双极板腐蚀"]
    assert titles(budget_min=90) == ["锂电池隔膜耐热不足"]
    assert titles(budget_max=90) == ["氢燃料电池双极板腐蚀"]
    assert titles(budget_min=50, budget_max=100) == ["氢燃料电池双极板腐蚀", "锂电池隔膜耐热不足"]
    assert solver.board(wh, today=TODAY, region="浙江省", budget_max=50).total == 0
    with pytest.raises(InvalidValue, match="高于最高榜额"):
        solver.board(wh, today=TODAY, budget_min=100, budget_max=10)


def test_the_supply_search_by_keyword_and_filters(wh):
    def ids(**kw):
        return [r["listing_id"] for r in market.search_supply(wh, FIRM_USER, **kw).rows]

    assert market.search_supply(wh, FIRM_USER).total == 5
    assert sorted(ids(keyword="隔膜")) == ["CN1", "zju:/a1"]
    assert ids(keyword="隔膜 陶瓷") == ["zju:/a1"]  # every word must occur
    assert ids(keyword="隔膜，陶瓷") == ["zju:/a1"]  # Chinese punctuation splits words too
    assert sorted(ids(keyword="双极板")) == ["CN2", "CN3"]
    assert ids(maturity="中试") == ["zju:/a1"]
    assert sorted(ids(source="google_patents")) == ["CN1", "CN3"]
    assert sorted(ids(field="生命健康")) == ["thu:/a2"]
    assert ids(kind="achievement", field="新能源新材料") == ["zju:/a1"]
    assert ids(keyword="不存在的词") == []
    options = market.supply_options(wh, BROKER, max_age=0)
    assert options["maturity"] == ["中试"] and set(options["source"]) == {"google_patents", "zju", "cnipr", "tsinghua"}


def test_the_supply_search_by_price_and_its_pages(wh):
    wh.execute("UPDATE listings SET price_wan = 30 WHERE listing_id = 'CN1'")
    wh.execute("UPDATE listings SET price_wan = 120, cooperation = '技术转让、技术许可' WHERE listing_id = 'zju:/a1'")
    try:
        assert [r["listing_id"] for r in market.search_supply(wh, BROKER, price_min=50).rows] == ["zju:/a1"]
        assert [r["listing_id"] for r in market.search_supply(wh, BROKER, price_max="50").rows] == ["CN1"]
        assert [r["listing_id"] for r in market.search_supply(wh, BROKER, cooperation="技术许可").rows] == ["zju:/a1"]
        ordered = [r["listing_id"] for r in market.search_supply(wh, BROKER, order="price_desc").rows]
        assert ordered[:2] == ["zju:/a1", "CN1"]  # no price (面议) last
        pages = [market.search_supply(wh, BROKER, page=n, page_size=2) for n in range(3)]
        assert [len(p.rows) for p in pages] == [2, 2, 1] and pages[0].pages == 3
        assert len({r["listing_id"] for p in pages for r in p.rows}) == 5
        with pytest.raises(InvalidValue, match="高于最高价格"):
            market.search_supply(wh, BROKER, price_min=100, price_max=1)
        with pytest.raises(InvalidValue, match="须为数字"):
            market.search_supply(wh, BROKER, price_min="abc")
    finally:
        wh.execute("UPDATE listings SET price_wan = NULL, cooperation = NULL WHERE listing_id IN ('CN1', 'zju:/a1')")


def test_the_supply_is_for_signed_in_users(wh):
    with pytest.raises(AccessDenied, match="请先登录"):
        market.search_supply(wh, None, keyword="隔膜")


def test_a_latin_word_is_found_however_it_is_typed(wh):
    wh.execute("UPDATE listings SET abstract = abstract || '用于储能BMS。' WHERE listing_id = 'CN3'")
    try:
        for typed in ("bms", "BMS", "Bms", "ＢＭＳ"):
            assert [r["listing_id"] for r in market.search_supply(wh, BROKER, keyword=typed).rows] == ["CN3"], typed
        assert market.search_supply(wh, BROKER, keyword="100%_").total == 0  # LIKE's wildcards are plain text
    finally:
        wh.execute("UPDATE listings SET abstract = replace(abstract, '用于储能BMS。', '') WHERE listing_id = 'CN3'")
