"""The firm side (企业出题) and the challenge lifecycle (政府立题): validation, posting, near-duplicates,
audit, transitions, matching at posting, role isolation, and the three pages under AppTest."""

from __future__ import annotations

import inspect
import json
import re
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from jiebang import broker, firm
from jiebang.accounts import User
from jiebang.display import beijing_today
from jiebang.errors import AccessDenied, UnknownChallenge
from jiebang.firm import InvalidChallenge, InvalidTransition
from jiebang.matching_run import match_one_challenge
from jiebang.settings import Settings
from matching.ranker import score_band
from tests.conftest import ROOT, TODAY, match_open_challenges
from tests.workspace_data import register
from ui.context import plain
from warehouse import queries, store

pytestmark = pytest.mark.integration

PAGES = ROOT / "ui" / "pages"
FIRM_A = User("zhang", "张经理", "firm", firm="嘉善甲科技有限公司")
FIRM_B = User("li", "李经理", "firm", firm="嘉善乙材料有限公司")
BROKER = User("wang", "王经纪", "broker")
ADMIN = User("root", "管理员", "admin")


# The services re-read the account behind each User they are given: these have accounts.
@pytest.fixture
def warehouse(warehouse):
    register(warehouse, FIRM_A, FIRM_B, BROKER, ADMIN)
    return warehouse


@pytest.fixture
def loaded_warehouse(loaded_warehouse):
    register(loaded_warehouse, FIRM_A, FIRM_B, BROKER, ADMIN)
    return loaded_warehouse


FORM = {
    "title": "注塑外壳外观缺陷AI视觉检测",
    "description": "我们做小家电塑料外壳，外观全靠人工目检，漏检率约1.5%。缩痕、银丝、细划伤经常被客户投诉，"
    "希望用深度学习视觉检测替代人工，新品缺陷样本少也能训练。",
    "field": "新一代信息技术",
    "targets": "漏检≤0.1%，过检≤2%，节拍≤1.2s",
    "budget_wan": 120,
    "deadline": date(2031, 6, 30),  # far enough for the pages, which check against the real today
    "cooperation": "合作开发",
    "region": "浙江省嘉兴市嘉善县",
    "confidentiality": "公开",
}
B_FORM = {
    **FORM,
    "title": "乙公司专属钕铁硼磁体晶界扩散工艺",
    "description": "烧结钕铁硼磁体矫顽力不足，现用晶界扩散重稀土镝，成本高且扩散深度不均，"
    "希望找到低重稀土的晶界扩散工艺，矫顽力提升到 25kOe 以上。",
    "field": "新能源新材料",
    "targets": "矫顽力≥25kOe",
    "confidentiality": "匿名",
}


def _post(warehouse, user=FIRM_A, **changes) -> str:
    return firm.post_challenge(warehouse, user, {**FORM, **changes}, today=TODAY).challenge_id


def _status(warehouse, challenge_id: str) -> str:
    return warehouse.query("SELECT status FROM challenges WHERE challenge_id = ?", [challenge_id])[0]["status"]


def _force_status(warehouse, challenge_id: str, status: str) -> None:
    warehouse.execute("UPDATE challenges SET status = ? WHERE challenge_id = ?", [status, challenge_id])


def _audit(warehouse, challenge_id: str) -> list[tuple]:
    rows = warehouse.query(
        "SELECT actor, role, action, before, after FROM audit_log WHERE entity_id = ? ORDER BY audit_id", [challenge_id]
    )
    return [
        (
            r["actor"],
            r["role"],
            r["action"],
            json.loads(r["before"]) if r["before"] else None,
            json.loads(r["after"]) if r["after"] else None,
        )
        for r in rows
    ]


def _snapshot(warehouse) -> dict:
    """Everything a refused call could have changed."""
    return {
        "challenges": warehouse.query("SELECT * EXCLUDE (last_seen) FROM challenges ORDER BY challenge_id"),
        "audit": warehouse.query("SELECT count(*) AS n FROM audit_log")[0]["n"],
        "shares": warehouse.query("SELECT * FROM match_shares ORDER BY ALL"),
        "reviews": warehouse.query("SELECT count(*) AS n FROM reviews")[0]["n"],
        "matches": warehouse.query("SELECT count(*) AS n FROM matches")[0]["n"],
    }


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": "短标题"}, "title", "至少 5 个字（现在 3 个）"),
        ({"title": "   "}, "title", "必填"),
        ({"title": "长" * 61}, "title", "最多 60 个字（现在 61 个）"),
        (
            {"description": "涂布厚度不均匀怎么办"},
            "description",
            "至少 30 个字（现在 10 个）（请写清问题、现状和目标）",
        ),
        (
            {"field": "区块链金融"},
            "field",
            "「区块链金融」不是可选行业（新一代信息技术、生命健康、新能源新材料、高端装备制造、绿色智能家居、时尚纺织、其他）",
        ),
        ({"field": None}, "field", "必选"),
        ({"budget_wan": -5}, "budget_wan", "不能为负数（现在 -5 万元）"),
        ({"budget_wan": 2_000_000}, "budget_wan", "超过 100,000 万元，请确认单位是万元（现在 2,000,000）"),
        ({"budget_wan": "一百万"}, "budget_wan", "请填写数字（万元），面议请留空（现在「一百万」）"),
        ({"budget_wan": float("nan")}, "budget_wan", "请填写一个有限的数字（万元）"),
        ({"deadline": TODAY - timedelta(days=1)}, "deadline", "不能早于今天 2026-11-26（现在 2026-11-25）"),
        ({"deadline": date(2032, 1, 1)}, "deadline", "不能晚于 2031-11-26（5 年内）"),
        ({"deadline": None}, "deadline", "必填，请选择截止日期"),
        ({"deadline": "明年三月"}, "deadline", "日期格式应为 YYYY-MM-DD（现在「明年三月」）"),
        (
            {"cooperation": "买断"},
            "cooperation",
            "「买断」不是可选方式（技术转让、技术许可、作价入股、合作开发、委托研发、技术服务、面议）",
        ),
        ({"region": "区" * 51}, "region", "最多 50 个字（现在 51 个）"),
        ({"targets": "指" * 1001}, "targets", "最多 1000 个字（现在 1001 个）"),
        ({"confidentiality": "保密"}, "confidentiality", "只能是「公开」或「匿名」（现在「保密」）"),
        ({"status": "已发布"}, "status", "不是可填写的字段"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_each_invalid_field_is_named_with_the_reason(change, field, message):
    with pytest.raises(InvalidChallenge) as raised:
        firm.validate_challenge({**FORM, **change}, today=TODAY)
    assert raised.value.problems == {field: message}
    assert f"{firm.FIELD_LABELS.get(field, field)}：{message}" in str(raised.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidChallenge) as raised:
        firm.validate_challenge({"title": "短", "budget_wan": -1}, today=TODAY)
    assert list(raised.value.problems) == ["title", "description", "field", "budget_wan", "deadline", "cooperation"]


@pytest.mark.parametrize(
    ("change", "column", "expected"),
    [
        ({"budget_wan": None}, "budget_wan", None),
        ({"budget_wan": ""}, "budget_wan", None),
        ({"budget_wan": "面议"}, "budget_wan", None),
        ({"budget_wan": "1,200"}, "budget_wan", 1200.0),
        ({"deadline": "2027-01-31"}, "deadline", date(2027, 1, 31)),
        ({"deadline": TODAY}, "deadline", TODAY),
        ({"title": "  注塑外壳外观缺陷检测  "}, "title", "注塑外壳外观缺陷检测"),
        ({"confidentiality": "匿名"}, "anonymous", True),
        ({"confidentiality": None}, "anonymous", False),
        ({"region": ""}, "region", None),
        ({"field": "其他"}, "field", "其他"),
    ],
)
def test_valid_values_are_cleaned(change, column, expected):
    assert firm.validate_challenge({**FORM, **change}, today=TODAY)[column] == expected


# --- posting, near-duplicates, audit ------------------------------------------------------------


def test_posting_stores_the_firms_draft_and_audits_it(warehouse):
    result = firm.post_challenge(warehouse, FIRM_A, {**FORM, "confidentiality": "匿名"}, today=TODAY)
    assert re.fullmatch(r"firm:[0-9a-f]{12}", result.challenge_id)  # no firm name in an anonymous id
    row = warehouse.query("SELECT * FROM challenges WHERE challenge_id = ?", [result.challenge_id])[0]
    assert {
        k: row[k]
        for k in (
            "title",
            "field",
            "targets",
            "budget_wan",
            "deadline",
            "cooperation",
            "region",
            "firm",
            "issuer",
            "posted_by",
            "source",
            "status",
            "anonymous",
            "revealed",
        )
    } == {
        "title": FORM["title"],
        "field": "新一代信息技术",
        "targets": FORM["targets"],
        "budget_wan": 120.0,
        "deadline": date(2031, 6, 30),
        "cooperation": "合作开发",
        "region": "浙江省嘉兴市嘉善县",
        "firm": FIRM_A.firm,
        "issuer": FIRM_A.firm,
        "posted_by": "zhang",
        "source": "firm",
        "status": "草稿",
        "anonymous": True,
        "revealed": False,
    }
    [(actor, role, action, before, after)] = _audit(warehouse, result.challenge_id)
    assert (actor, role, action, before) == ("zhang", "firm", "post", None)
    assert after["title"] == FORM["title"] and after["status"] == "草稿" and after["firm"] == FIRM_A.firm
    assert result.duplicates == []


def test_posting_with_submit_goes_to_review(warehouse):
    result = firm.post_challenge(warehouse, FIRM_A, FORM, today=TODAY, submit=True)
    assert result.status == "待审核" == _status(warehouse, result.challenge_id)


def test_invalid_post_stores_nothing(warehouse):
    with pytest.raises(InvalidChallenge):
        firm.post_challenge(warehouse, FIRM_A, {**FORM, "deadline": date(2020, 1, 1)}, today=TODAY)
    assert warehouse.query("SELECT count(*) AS n FROM challenges")[0]["n"] == 0
    assert warehouse.query("SELECT count(*) AS n FROM audit_log")[0]["n"] == 0


def test_near_duplicate_is_flagged_not_refused(warehouse):
    first = _post(warehouse)
    again = firm.post_challenge(warehouse, FIRM_A, {**FORM, "title": FORM["title"] + "系统"}, today=TODAY)
    [hint] = again.duplicates
    assert (hint.challenge_id, hint.title, hint.status) == (first, FORM["title"], "草稿")
    assert 85 <= hint.score < 100
    assert _status(warehouse, again.challenge_id) == "草稿"  # stored all the same

    different = firm.post_challenge(warehouse, FIRM_A, B_FORM, today=TODAY)
    assert different.duplicates == []


@pytest.mark.parametrize(
    ("status", "confidentiality", "revealed", "shown"),
    [
        ("草稿", "公开", False, (None, None, None)),
        ("待审核", "公开", False, (None, None, None)),
        ("已发布", "公开", False, (None, FORM["title"], "已发布")),  # on the public board anyway
        ("已发布", "匿名", False, (None, None, None)),  # the title may name the firm
        ("已发布", "匿名", True, (None, FORM["title"], "已发布")),
        ("已关闭", "公开", False, (None, None, None)),
    ],
)
def test_another_firms_duplicate_is_flagged_without_what_a_firm_may_not_see(
    warehouse, status, confidentiality, revealed, shown
):
    theirs = _post(warehouse, FIRM_B, confidentiality=confidentiality)
    warehouse.execute(
        "UPDATE challenges SET status = ?, revealed = ? WHERE challenge_id = ?", [status, revealed, theirs]
    )
    result = firm.post_challenge(warehouse, FIRM_A, FORM, today=TODAY)
    [hint] = result.duplicates
    assert ((hint.challenge_id, hint.title, hint.status), hint.score) == (shown, 100.0)
    [seen] = firm.near_duplicates(warehouse, BROKER, theirs)  # a broker sees every one
    assert (seen.challenge_id, seen.title, seen.status) == (result.challenge_id, FORM["title"], "草稿")


def test_a_crawled_need_is_found_as_a_near_duplicate(loaded_warehouse):
    need = loaded_warehouse.query("SELECT * FROM challenges WHERE source <> 'firm' ORDER BY challenge_id LIMIT 1")[0]
    form = {**FORM, "title": need["title"], "description": need["description"][:4999]}
    [hint] = firm.post_challenge(loaded_warehouse, FIRM_A, form, today=TODAY).duplicates
    assert (hint.challenge_id, hint.title, hint.status, hint.score) == (None, need["title"], "已发布", 100.0)


# --- the firm's own challenges ------------------------------------------------------------------


def test_update_while_editable_audits_before_and_after(warehouse):
    challenge_id = _post(warehouse)
    row = firm.update_challenge(
        warehouse, FIRM_A, challenge_id, {"budget_wan": 150, "region": "上海市青浦区"}, today=TODAY
    )
    assert (row["budget_wan"], row["region"], row["title"]) == (150.0, "上海市青浦区", FORM["title"])
    assert _audit(warehouse, challenge_id)[-1] == (
        "zhang",
        "firm",
        "edit",
        {"budget_wan": 120.0, "region": "浙江省嘉兴市嘉善县"},
        {"budget_wan": 150.0, "region": "上海市青浦区"},
    )

    with pytest.raises(InvalidChallenge) as raised:
        firm.update_challenge(warehouse, FIRM_A, challenge_id, {"budget_wan": -1, "status": "已发布"}, today=TODAY)
    assert set(raised.value.problems) == {"budget_wan", "status"}


@pytest.mark.parametrize(
    ("status", "editable"), [("草稿", True), ("待审核", True), ("已发布", False), ("已揭榜", False), ("已关闭", False)]
)
def test_update_only_before_publishing(warehouse, status, editable):
    challenge_id = _post(warehouse)
    _force_status(warehouse, challenge_id, status)
    if editable:
        assert (
            firm.update_challenge(warehouse, FIRM_A, challenge_id, {"budget_wan": 99}, today=TODAY)["budget_wan"] == 99
        )
    else:
        before = _snapshot(warehouse)
        with pytest.raises(InvalidTransition, match=f"只有草稿或待审核的需求可以修改（现在：{status}）"):
            firm.update_challenge(warehouse, FIRM_A, challenge_id, {"budget_wan": 99}, today=TODAY)
        assert _snapshot(warehouse) == before


def test_submit_for_review_once(warehouse):
    challenge_id = _post(warehouse)
    assert firm.submit_for_review(warehouse, FIRM_A, challenge_id)["status"] == "待审核"
    assert _audit(warehouse, challenge_id)[-1] == ("zhang", "firm", "status", {"status": "草稿"}, {"status": "待审核"})
    with pytest.raises(InvalidTransition, match="只有草稿的需求可以提交审核（现在：待审核）"):
        firm.submit_for_review(warehouse, FIRM_A, challenge_id)


def test_my_challenges_are_only_the_firms_own(warehouse):
    mine = [_post(warehouse), _post(warehouse, title="第二个需求：锂电池极片涂布")]
    _post(warehouse, FIRM_B, **{k: B_FORM[k] for k in ("title", "description")})
    assert sorted(r["challenge_id"] for r in firm.my_challenges(warehouse, FIRM_A)) == sorted(mine)
    assert firm.my_challenge(warehouse, FIRM_A, mine[0])["title"] == FORM["title"]


# --- lifecycle ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "start", "target", "allowed"),
    [
        ("broker", "草稿", "待审核", True),
        ("broker", "待审核", "已发布", True),
        ("broker", "待审核", "草稿", True),  # sent back
        ("broker", "已发布", "已揭榜", True),
        ("broker", "已揭榜", "已关闭", True),
        ("broker", "草稿", "已发布", False),  # no skipping review
        ("broker", "已发布", "草稿", False),
        ("broker", "已关闭", "已发布", False),
        ("broker", "已发布", "已关闭", False),  # only an admin closes early
        ("broker", "待审核", "待审核", False),
        ("admin", "已发布", "已关闭", True),
        ("admin", "草稿", "已关闭", True),
        ("admin", "待审核", "已发布", True),
        ("admin", "已关闭", "已关闭", False),
        ("admin", "已关闭", "草稿", False),
    ],
    ids=lambda v: v if isinstance(v, str) else ("ok" if v else "refused"),
)
def test_lifecycle_transitions(warehouse, role, start, target, allowed):
    curator = BROKER if role == "broker" else ADMIN
    challenge_id = _post(warehouse)
    _force_status(warehouse, challenge_id, start)
    if allowed:
        assert firm.set_status(warehouse, curator, challenge_id, target)["status"] == target
        assert _audit(warehouse, challenge_id)[-1] == (
            curator.username,
            role,
            "status",
            {"status": start},
            {"status": target},
        )
    else:
        before = _snapshot(warehouse)
        with pytest.raises(InvalidTransition, match=f"不能从「{start}」改为「{target}」"):
            firm.set_status(warehouse, curator, challenge_id, target)
        assert _snapshot(warehouse) == before


def test_unknown_status_and_unknown_challenge(warehouse):
    challenge_id = _post(warehouse)
    with pytest.raises(InvalidTransition, match="未知状态「已删除」"):
        firm.set_status(warehouse, BROKER, challenge_id, "已删除")
    with pytest.raises(firm.ChallengeNotFound):
        firm.set_status(warehouse, BROKER, "firm:000000000000", "已发布")


def test_crawled_challenges_follow_the_same_lifecycle(warehouse):
    store.upsert_challenges(
        warehouse,
        [
            {
                "challenge_id": "jsmarket:/xq/1",
                "title": "拉链头自动装配",
                "description": "拉链头装配靠人工",
                "source": "jiashan_market",
            }
        ],
    )
    assert firm.set_status(warehouse, BROKER, "jsmarket:/xq/1", "已揭榜")["status"] == "已揭榜"


def test_reveal_an_anonymous_firm(warehouse):
    anonymous = _post(warehouse, confidentiality="匿名")
    public = _post(warehouse, title="公开发布的需求：锂电池极片涂布")
    assert firm.reveal_firm(warehouse, BROKER, anonymous)["revealed"] is True
    assert _audit(warehouse, anonymous)[-1] == ("wang", "broker", "reveal", {"revealed": False}, {"revealed": True})
    with pytest.raises(InvalidTransition, match="已揭示"):
        firm.reveal_firm(warehouse, BROKER, anonymous)
    with pytest.raises(InvalidTransition, match="公开发布"):
        firm.reveal_firm(warehouse, BROKER, public)


def test_allowed_transitions_for_buttons():
    assert firm.allowed_transitions(BROKER, "待审核") == ("已发布", "草稿")
    assert firm.allowed_transitions(ADMIN, "已发布") == ("已揭榜", "已关闭")
    assert firm.allowed_transitions(ADMIN, "已关闭") == ()
    assert firm.allowed_transitions(FIRM_A, "待审核") == ()
    assert firm.allowed_transitions(None, "草稿") == ()


def _index(warehouse) -> Path:
    """The test's own index, beside its private copy of the warehouse."""
    return warehouse.path.with_suffix(".index")


# --- matching at posting ------------------------------------------------------------------------


def test_posting_is_matched_at_once_and_kept_by_the_nightly_run(loaded_warehouse, tmp_path):
    challenge_id = _post(loaded_warehouse)  # a draft: the nightly run would not match it
    started = time.monotonic()
    outcome = match_one_challenge(loaded_warehouse, challenge_id, today=TODAY, top_k=10, index_dir=tmp_path / "index")
    assert time.monotonic() - started < 60
    stored = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=50)
    assert outcome["matches"] == len(stored) == 10
    assert [m["rank"] for m in stored] == list(range(1, 11))
    assert all(0 <= m["score"] <= 100 for m in stored)
    assert any("缺陷" in m["title"] or "视觉" in m["title"] or "检测" in m["title"] for m in stored[:3])

    match_open_challenges(loaded_warehouse, "nightly", tmp_path / "index")  # published only: drafts untouched
    assert len(queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=50)) == 10


def test_matching_one_challenge_leaves_other_challenges_alone(loaded_warehouse):
    other = queries.challenge_match_counts(loaded_warehouse)[0]["challenge_id"]
    before = loaded_warehouse.query("SELECT * FROM matches WHERE challenge_id = ? ORDER BY listing_id", [other])
    match_one_challenge(
        loaded_warehouse, _post(loaded_warehouse), today=TODAY, top_k=5, index_dir=_index(loaded_warehouse)
    )
    assert loaded_warehouse.query("SELECT * FROM matches WHERE challenge_id = ? ORDER BY listing_id", [other]) == before
    with pytest.raises(UnknownChallenge, match="no challenge with id"):
        match_one_challenge(
            loaded_warehouse, "firm:000000000000", today=TODAY, top_k=5, index_dir=_index(loaded_warehouse)
        )


def test_rejected_listing_is_not_proposed_again_on_demand(loaded_warehouse):
    challenge_id = _post(loaded_warehouse)
    match_one_challenge(loaded_warehouse, challenge_id, today=TODAY, top_k=5, index_dir=_index(loaded_warehouse))
    top = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=1)[0]["listing_id"]
    broker.decide(loaded_warehouse, BROKER, challenge_id, top, "reject", reason="技术不对口")
    match_one_challenge(loaded_warehouse, challenge_id, today=TODAY, top_k=5, index_dir=_index(loaded_warehouse))
    shown = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=50)
    assert top not in [m["listing_id"] for m in shown]


# --- shared matches -----------------------------------------------------------------------------


def _share(warehouse, challenge_id: str, listing_id: str) -> None:
    warehouse.execute("INSERT INTO match_shares VALUES (?, ?, 'wang', current_timestamp)", [challenge_id, listing_id])


def test_firm_sees_only_the_shared_matches(loaded_warehouse):
    challenge_id = _post(loaded_warehouse)
    match_one_challenge(loaded_warehouse, challenge_id, today=TODAY, top_k=5, index_dir=_index(loaded_warehouse))
    proposed = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=5)
    _share(loaded_warehouse, challenge_id, proposed[1]["listing_id"])
    [shared] = firm.shared_matches(loaded_warehouse, FIRM_A, challenge_id)
    assert (shared["listing_id"], shared["title"], shared["score"]) == (
        proposed[1]["listing_id"],
        proposed[1]["title"],
        proposed[1]["score"],
    )
    assert shared["summary"] == proposed[1]["abstract"][:300]
    assert firm.my_challenges(loaded_warehouse, FIRM_A)[0]["n_shared"] == 1


def test_copies_shared_before_they_were_merged_reach_the_firm_once(loaded_warehouse):
    from jiebang import dedup

    challenge_id = _post(loaded_warehouse)
    match_one_challenge(loaded_warehouse, challenge_id, today=TODAY, top_k=5, index_dir=_index(loaded_warehouse))
    a, b = (m["listing_id"] for m in queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=5)[1:3])
    _share(loaded_warehouse, challenge_id, a)
    _share(loaded_warehouse, challenge_id, b)
    assert len(firm.shared_matches(loaded_warehouse, FIRM_A, challenge_id)) == 2
    dedup.merge(loaded_warehouse, BROKER, a, b)  # a broker finds they are one technology
    [shared] = firm.shared_matches(loaded_warehouse, FIRM_A, challenge_id)
    assert shared["listing_id"] in {a, b}
    assert firm.my_challenges(loaded_warehouse, FIRM_A)[0]["n_shared"] == 1


# --- role isolation -----------------------------------------------------------------------------


def _broker_services():
    """Every public service of jiebang.broker taking (warehouse, user, …)."""
    found = []
    for name, function in inspect.getmembers(broker, inspect.isfunction):
        params = list(inspect.signature(function).parameters)
        if function.__module__ == broker.__name__ and not name.startswith("_") and params[:2] == ["warehouse", "user"]:
            found.append(function)
    return found


def _call_with(function, warehouse, user, challenge_id):
    """Call a service with `challenge_id` for every required argument after (warehouse, user)."""
    args, kwargs = [warehouse, user], {}
    for name, param in list(inspect.signature(function).parameters.items())[2:]:
        if param.default is not inspect.Parameter.empty:
            continue
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[name] = challenge_id
        else:
            args.append(challenge_id)
    return function(*args, **kwargs)


FIRM_SERVICES = {
    "my_challenge": lambda wh, user, cid: firm.my_challenge(wh, user, cid),
    "update_challenge": lambda wh, user, cid: firm.update_challenge(
        wh, user, cid, {"title": "被篡改的标题内容"}, today=TODAY
    ),
    "submit_for_review": lambda wh, user, cid: firm.submit_for_review(wh, user, cid),
    "shared_matches": lambda wh, user, cid: firm.shared_matches(wh, user, cid),
}
CURATOR_SERVICES = {
    "set_status": lambda wh, user, cid: firm.set_status(wh, user, cid, "已发布"),
    "reveal_firm": lambda wh, user, cid: firm.reveal_firm(wh, user, cid),
    "curated_challenge": lambda wh, user, cid: firm.curated_challenge(wh, user, cid),
    "near_duplicates": lambda wh, user, cid: firm.near_duplicates(wh, user, cid),
    "curation_queue": lambda wh, user, cid: firm.curation_queue(wh, user),
    "status_counts": lambda wh, user, cid: firm.status_counts(wh, user),
}


@pytest.fixture
def two_firms(loaded_warehouse):
    """Firm A's and firm B's challenges; B's is matched, pending review, with a match shared with B."""
    a_id = _post(loaded_warehouse, FIRM_A)
    b_id = firm.post_challenge(loaded_warehouse, FIRM_B, B_FORM, today=TODAY, submit=True).challenge_id
    match_one_challenge(loaded_warehouse, b_id, today=TODAY, top_k=5, index_dir=_index(loaded_warehouse))
    _share(loaded_warehouse, b_id, queries.matches_for_challenge(loaded_warehouse, b_id, limit=1)[0]["listing_id"])
    return loaded_warehouse, a_id, b_id


def test_firm_a_cannot_reach_firm_bs_challenge_through_any_service(two_firms):
    wh, _, b_id = two_firms
    before = _snapshot(wh)
    for name, service in FIRM_SERVICES.items():
        with pytest.raises(AccessDenied) as other_firms:
            service(wh, FIRM_A, b_id)
        with pytest.raises(AccessDenied) as unknown:
            service(wh, FIRM_A, "firm:000000000000")
        assert str(other_firms.value) == str(unknown.value) == firm.NOT_FOUND, name  # ids cannot be probed
    services = _broker_services()
    assert {f.__name__ for f in services} >= {
        "review_queue_page",
        "challenge",
        "ranked_matches",
        "decide",
        "run_overview",
    }
    for service in services:
        with pytest.raises(AccessDenied, match="无权"):
            _call_with(service, wh, FIRM_A, b_id)
    for service in CURATOR_SERVICES.values():
        with pytest.raises(AccessDenied, match="无权"):
            service(wh, FIRM_A, b_id)
    assert _snapshot(wh) == before
    assert firm.my_challenge(wh, FIRM_B, b_id)["title"] == B_FORM["title"]  # B itself still can


def test_not_signed_in_gets_access_denied_everywhere(two_firms):
    wh, _, b_id = two_firms
    before = _snapshot(wh)
    calls = [
        *FIRM_SERVICES.values(),
        *CURATOR_SERVICES.values(),
        lambda wh, user, cid: firm.post_challenge(wh, user, FORM, today=TODAY),
        lambda wh, user, cid: firm.my_challenges(wh, user),
        *(lambda wh, user, cid, f=f: _call_with(f, wh, user, cid) for f in _broker_services()),
    ]
    for call in calls:
        with pytest.raises(AccessDenied, match="请先登录"):
            call(wh, None, b_id)
    assert _snapshot(wh) == before


def test_the_firm_comes_from_the_account_not_from_the_session(warehouse):
    claims_b = User(FIRM_A.username, FIRM_A.display_name, "firm", firm=FIRM_B.firm)
    posted = firm.post_challenge(warehouse, claims_b, FORM, today=TODAY).challenge
    assert (posted["firm"], posted["posted_by"]) == (FIRM_A.firm, FIRM_A.username)
    with pytest.raises(AccessDenied, match="账户不存在"):
        firm.post_challenge(warehouse, User("x", "x", "firm", firm="某企业"), FORM, today=TODAY)


def _rendered(at: AppTest) -> str:
    """All text of the rendered page: values, labels, options, placeholders, captions."""
    parts = []

    def walk(node):
        if getattr(node, "proto", None) is not None:
            parts.append(json.dumps(MessageToDict(node.proto), ensure_ascii=False))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def _page(
    name: str, warehouse, user: User | None, tmp_path, *, query: dict | None = None, state: dict | None = None
) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=warehouse.path, index_dir=tmp_path / "index", match_top_k=5)
    if user is not None:
        at.session_state["user"] = user
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


def test_page_parameter_does_not_open_another_firms_challenge(two_firms, tmp_path):
    wh, a_id, b_id = two_firms
    at = _page("firm_challenges.py", wh, FIRM_A, tmp_path, query={"challenge": b_id})
    assert not at.exception
    text = _rendered(at)
    assert FORM["title"] in text  # the collected text does hold what the page shows (A's own)
    assert B_FORM["title"] not in text and B_FORM["targets"] not in text and FIRM_B.firm not in text
    assert [e.value for e in at.error] == [firm.NOT_FOUND]
    assert at.subheader[0].value == FORM["title"]  # A's own challenge instead
    assert at.query_params["challenge"] == a_id


@pytest.mark.parametrize("key", ["firm_challenge", "challenge_id", "curation_challenge"])
def test_session_state_does_not_open_another_firms_challenge(two_firms, tmp_path, key):
    wh, _, b_id = two_firms
    for page in ("firm_challenges.py", "firm_post.py", "curation.py", "broker.py"):
        at = _page(page, wh, FIRM_A, tmp_path, state={key: b_id})
        assert not at.exception, page
        text = _rendered(at)
        assert B_FORM["title"] not in text and FIRM_B.firm not in text, page


def test_shared_matches_of_b_never_reach_a(two_firms, tmp_path):
    wh, _, b_id = two_firms
    shared_title = firm.shared_matches(wh, FIRM_B, b_id)[0]["title"]
    at = _page("firm_challenges.py", wh, FIRM_A, tmp_path, query={"challenge": b_id})
    assert shared_title not in _rendered(at)
    at = _page("firm_challenges.py", wh, FIRM_B, tmp_path, query={"challenge": b_id})
    assert shared_title in _rendered(at)


# --- pages --------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["firm_post.py", "firm_challenges.py"])
@pytest.mark.parametrize("user", [None, BROKER, ADMIN], ids=["anonymous", "broker", "admin"])
def test_firm_pages_refuse_other_roles(warehouse, tmp_path, page, user):
    at = _page(page, warehouse, user, tmp_path)
    assert not at.exception
    assert at.error and ("请先登录" in at.error[0].value or "无权" in at.error[0].value)
    assert not at.text_input and not at.selectbox and not at.button


@pytest.mark.parametrize("user", [None, FIRM_A], ids=["anonymous", "firm"])
def test_curation_page_refuses_other_roles(two_firms, tmp_path, user):
    wh, _, _ = two_firms
    at = _page("curation.py", wh, user, tmp_path)
    assert not at.exception
    assert at.error and ("请先登录" in at.error[0].value or "无权" in at.error[0].value)
    assert not at.radio and not at.button and B_FORM["title"] not in _rendered(at)


def _app(warehouse, user: User, tmp_path, **settings) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=120)
    at.session_state["settings"] = Settings(
        warehouse_path=warehouse.path, index_dir=tmp_path / "index", match_top_k=5, **settings
    )
    at.session_state["user"] = user
    return at.run()


def _fill(at: AppTest, form: dict) -> None:
    at.text_input(key="post_title").input(form["title"])
    at.text_area(key="post_description").input(form["description"])
    at.selectbox(key="post_field").select(form["field"])
    at.text_area(key="post_targets").input(form["targets"])
    at.number_input(key="post_budget_wan").set_value(form["budget_wan"])
    at.date_input(key="post_deadline").set_value(form["deadline"])
    at.selectbox(key="post_cooperation").select(form["cooperation"])
    at.radio(key="post_confidentiality").set_value(form["confidentiality"])


def test_firm_posts_through_the_form_and_sees_it_matched(loaded_warehouse, tmp_path):
    at = _app(loaded_warehouse, FIRM_A, tmp_path)  # the router opens 发布需求 for a firm user
    assert not at.exception and at.title[0].value == "发布需求"
    _fill(at, FORM)
    at.button(key="FormSubmitter:post_challenge-提交审核").click().run()
    assert not at.exception
    [row] = loaded_warehouse.query("SELECT * FROM challenges WHERE firm = ?", [FIRM_A.firm])
    assert (row["title"], row["status"], row["budget_wan"], row["deadline"], row["posted_by"]) == (
        FORM["title"],
        "待审核",
        120.0,
        date(2031, 6, 30),
        "zhang",
    )
    successes = [s.value for s in at.success]
    assert successes[0].startswith("已提交，匹配中…")
    assert successes[1] == "匹配完成：找到 5 条候选成果，技术经纪人审核后会把合适的推荐给您。"
    assert len(queries.matches_for_challenge(loaded_warehouse, row["challenge_id"], limit=50)) == 5
    [link] = at.page_link
    assert link.label == "查看这条需求"

    at.switch_page("pages/firm_challenges.py").run()  # 我的需求 shows it
    assert not at.exception
    assert at.subheader[0].value == plain(FORM["title"])
    assert "**待审核**" in _rendered(at)


@pytest.mark.parametrize("damage", ["garbage_manifest", "zeroed_alive_mask"])
def test_a_firm_posting_while_the_index_is_corrupt_sees_one_line_and_its_challenge_is_stored(
    loaded_warehouse, tmp_path, damage
):
    from jiebang.pipeline import refresh_index
    from tests import test_index_faults

    refresh_index(loaded_warehouse, tmp_path / "index")
    getattr(test_index_faults, damage)(tmp_path / "index")
    at = _app(loaded_warehouse, FIRM_A, tmp_path)
    _fill(at, FORM)
    at.button(key="FormSubmitter:post_challenge-提交审核").click().run()
    assert not at.exception
    [row] = loaded_warehouse.query("SELECT * FROM challenges WHERE firm = ?", [FIRM_A.firm])
    assert (row["title"], row["status"], row["posted_by"]) == (FORM["title"], "待审核", "zhang")
    assert [s.value for s in at.success] == [f"已提交，匹配中…　需求编号：{row['number']}"]  # not the internal id
    [pending] = [i.value for i in at.info]
    assert pending.startswith("需求已保存。匹配索引正在维护") and "下一次运行" in pending
    assert str(tmp_path) not in _rendered(at) and "reindex" not in _rendered(at)  # the why is for the operator
    assert queries.matches_for_challenge(loaded_warehouse, row["challenge_id"], limit=50) == []


def test_a_firm_posting_while_the_index_is_rebuilt_waits_a_bounded_time_and_its_challenge_is_stored(
    loaded_warehouse, tmp_path
):
    """The page used to wait on the index writer lock for the whole rebuild (minutes)."""
    import shutil

    from jiebang.pipeline import refresh_index
    from tests.test_index_faults import writer_lock_held

    index_dir = tmp_path / "index"
    refresh_index(loaded_warehouse, index_dir)
    at = _app(loaded_warehouse, FIRM_A, tmp_path, index_wait_seconds=1.0)
    _fill(at, FORM)
    with writer_lock_held(index_dir):  # the nightly rebuilding it: the folder removed, written again
        shutil.rmtree(index_dir)
        at.button(key="FormSubmitter:post_challenge-提交审核").click().run()  # AppTest gives up after 120 s
    assert not at.exception
    [row] = loaded_warehouse.query("SELECT * FROM challenges WHERE firm = ?", [FIRM_A.firm])
    assert (row["title"], row["status"], row["posted_by"]) == (FORM["title"], "待审核", "zhang")
    [pending] = [i.value for i in at.info]
    assert pending.startswith("需求已保存。匹配索引正在维护") and "下一次运行" in pending
    assert queries.matches_for_challenge(loaded_warehouse, row["challenge_id"], limit=50) == []


def test_form_shows_each_problem_by_field(warehouse, tmp_path):
    at = _page("firm_post.py", warehouse, FIRM_A, tmp_path)
    assert not at.exception and at.text_input(key="post_title")
    at.text_input(key="post_title").input("短")
    at.number_input(key="post_budget_wan").set_value(-10)
    at.button(key="FormSubmitter:post_challenge-保存草稿").click().run()
    assert [e.value for e in at.error] == [
        "有 6 处需要修改，请看各栏下方的提示。",
        "标题：至少 5 个字（现在 1 个）",
        "需求描述：必填（请写清问题、现状和目标）",
        "所属行业：必选",
        "榜额/预算：不能为负数（现在 \\-10 万元）",
        "合作方式：必选",
        "截止日期：必填，请选择截止日期",  # no deadline is chosen for the firm
    ]
    assert warehouse.query("SELECT count(*) AS n FROM challenges")[0]["n"] == 0
    assert at.text_input(key="post_title").value == "短"  # what the firm typed stays for correcting


def test_a_past_deadline_is_refused_on_its_field_and_kept_as_typed(warehouse, tmp_path):
    """Issue 12: a typed 2025/05/31 was dropped by the widget and the default 2027-05-31 stored."""
    at = _page("firm_post.py", warehouse, FIRM_A, tmp_path)
    _fill(at, {**FORM, "deadline": date(2025, 5, 31)})
    at.button(key="FormSubmitter:post_challenge-提交审核").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "有 1 处需要修改，请看各栏下方的提示。",
        f"截止日期：不能早于今天 {plain(beijing_today().isoformat())}（现在 2025\\-05\\-31）",
    ]
    assert at.date_input(key="post_deadline").value == date(2025, 5, 31)
    assert warehouse.query("SELECT count(*) AS n FROM challenges")[0]["n"] == 0
    at.date_input(key="post_deadline").set_value(date(2031, 6, 30))
    at.button(key="FormSubmitter:post_challenge-提交审核").click().run()
    [row] = warehouse.query("SELECT deadline FROM challenges")
    assert row["deadline"] == date(2031, 6, 30) and not at.error


def test_form_warns_of_a_near_duplicate(warehouse, tmp_path):
    first = _post(warehouse)
    at = _page("firm_post.py", warehouse, FIRM_A, tmp_path)
    _fill(at, FORM)
    at.button(key="FormSubmitter:post_challenge-保存草稿").click().run()
    assert not at.exception
    [warning] = at.warning
    assert warning.value.startswith(f"疑似重复：与已有需求「{plain(FORM['title'])}」（草稿）相似度 100%")
    assert len(firm.my_challenges(warehouse, FIRM_A)) == 2 and first
    # stored: the form is empty for the next challenge, so a second click cannot post it again
    assert (at.text_input(key="post_title").value, at.selectbox(key="post_field").value) == ("", None)
    assert at.date_input(key="post_deadline").value is None


def test_my_challenges_page_submits_edits_and_shows_shared_matches(loaded_warehouse, tmp_path):
    challenge_id = _post(loaded_warehouse)
    match_one_challenge(loaded_warehouse, challenge_id, today=TODAY, top_k=5, index_dir=_index(loaded_warehouse))
    top = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=1)[0]
    at = _page("firm_challenges.py", loaded_warehouse, FIRM_A, tmp_path)
    assert not at.exception
    assert at.selectbox(key="firm_challenge").value == challenge_id
    assert "技术经纪人审核匹配结果后" in at.info[0].value  # nothing shared yet
    assert top["title"] not in _rendered(at)  # proposals are not shown to the firm until shared

    at.text_input(key=f"edit_title|{challenge_id}").input("注塑外壳外观缺陷深度学习视觉检测")
    at.button(key=f"FormSubmitter:edit|{challenge_id}-保存修改").click().run()
    assert not at.exception
    assert at.success[0].value == "已保存修改，并已重新匹配。"
    assert firm.my_challenge(loaded_warehouse, FIRM_A, challenge_id)["title"] == "注塑外壳外观缺陷深度学习视觉检测"

    at.button(key=f"submit|{challenge_id}").click().run()
    assert at.success[0].value == "已提交审核。"
    assert _status(loaded_warehouse, challenge_id) == "待审核"

    top = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=1)[0]  # matched again after the edit
    _share(loaded_warehouse, challenge_id, top["listing_id"])
    at.run()
    assert at.metric[0].value == f"{top['score']:.0f}"
    assert plain(top["title"]) in _rendered(at)
    assert score_band(top["score"]) in [c.value for c in at.caption]  # what the score means


def test_published_challenge_cannot_be_edited_on_the_page(warehouse, tmp_path):
    challenge_id = _post(warehouse)
    _force_status(warehouse, challenge_id, "已发布")
    at = _page("firm_challenges.py", warehouse, FIRM_A, tmp_path)
    assert not at.exception and not at.expander and not at.button


def test_curation_page_publishes_reveals_and_admin_closes(two_firms, tmp_path):
    wh, _, b_id = two_firms
    at = _page("curation.py", wh, BROKER, tmp_path)
    assert not at.exception
    assert at.radio(key="curation_status").value == "待审核"
    assert at.selectbox(key="curation_challenge").value == b_id  # A's is a draft: not in the queue
    assert at.subheader[0].value == plain(B_FORM["title"])
    assert f"发榜单位：{plain(FIRM_B.firm)}" in at.caption[1].value  # brokers see who is anonymous
    assert {b.key for b in at.button} == {f"to|已发布|{b_id}", f"to|草稿|{b_id}", f"reveal|{b_id}", f"rematch|{b_id}"}

    at.button(key=f"reveal|{b_id}").click().run()
    assert wh.query("SELECT revealed FROM challenges WHERE challenge_id = ?", [b_id])[0]["revealed"] is True
    at.button(key=f"to|已发布|{b_id}").click().run()
    assert not at.exception
    assert _status(wh, b_id) == "已发布"
    assert at.success[0].value.endswith("已改为已发布。")
    assert [a[2] for a in _audit(wh, b_id)] == ["post", "reveal", "status"]

    at = _page("curation.py", wh, ADMIN, tmp_path, state={"curation_status": "已发布", "curation_challenge": b_id})
    assert at.selectbox(key="curation_challenge").value == b_id
    at.button(key=f"to|已关闭|{b_id}").click().run()
    assert _status(wh, b_id) == "已关闭"


def test_curation_page_rematches(two_firms, tmp_path):
    wh, _, b_id = two_firms
    at = _page("curation.py", wh, BROKER, tmp_path)
    at.button(key=f"rematch|{b_id}").click().run()
    assert not at.exception
    assert at.success[0].value == "已重新匹配：5 条候选。"


def test_posted_html_is_shown_as_text_on_every_page(warehouse, tmp_path):
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    challenge_id = firm.post_challenge(
        warehouse,
        FIRM_A,
        {**FORM, "title": "AAA " + hostile[:40], "description": FORM["description"] + hostile, "targets": hostile},
        today=TODAY,
        submit=True,
    ).challenge_id
    for page, user in (("firm_challenges.py", FIRM_A), ("curation.py", BROKER)):
        at = _page(page, warehouse, user, tmp_path)
        assert not at.exception, page
        rendered = " ".join(m.value for m in at.markdown) + " ".join(s.value for s in at.subheader)
        assert "AAA" in rendered and challenge_id
        assert not re.search(r"(?<!\\)[<>]", rendered), page
