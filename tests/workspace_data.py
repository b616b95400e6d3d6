"""A small, fully known warehouse for the broker workspace tests: five challenges (one anonymous
firm post, one draft, one awaiting review, one expired), five listings, eight matches with spans."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from jiebang.accounts import User
from jiebang.pipeline import open_warehouse
from warehouse import store, users
from warehouse.gateway import Warehouse

TODAY = date(2026, 11, 26)
FIRM = "嘉善氢途科技有限公司"
BROKER = User("wang", "王经纪", "broker")
ADMIN = User("root", "管理员", "admin")
FIRM_USER = User("hq", "氢途", "firm", firm=FIRM)

CHALLENGES = [
    {
        "challenge_id": "mkt:/1",
        "title": "锂电池隔膜耐热不足",
        "description": "我公司生产锂电池隔膜，希望提高耐热性，目标150℃不收缩。",
        "field": "新能源新材料",
        "budget_wan": 100.0,
        "deadline": date(2027, 6, 30),
        "issuer": "嘉善某电池厂",
        "region": "浙江省嘉兴市嘉善县",
        "cooperation": "合作开发",
        "url": "http://market.example/xq/1",
        "source": "jiashan_market",
    },
    {
        "challenge_id": "firm:anon",
        "title": "氢燃料电池双极板腐蚀",
        "description": f"{FIRM}现有金属双极板在酸性环境下腐蚀严重，寻求防腐涂层方案。",
        "field": "新能源新材料",
        "budget_wan": 80.0,
        "deadline": date(2027, 3, 31),
        "issuer": FIRM,
        "region": "上海市青浦区",
        "cooperation": "技术转让",
        "url": None,
        "source": "firm",
    },
    {
        "challenge_id": "mkt:/2",
        "title": "体外诊断试剂稳定性差",
        "description": "冻干试剂常温保存三个月后活性下降明显。",
        "field": "生命健康",
        "budget_wan": None,
        "deadline": None,
        "issuer": "吴江某生物公司",
        "region": "江苏省苏州市吴江区",
        "cooperation": "面议",
        "url": "http://market.example/xq/2",
        "source": "jiashan_market",
    },
    {
        "challenge_id": "firm:draft",
        "title": "草稿需求不公开",
        "description": "还没写完的需求。",
        "field": "时尚纺织",
        "issuer": FIRM,
        "region": "浙江省嘉兴市嘉善县",
        "source": "firm",
    },
    {
        "challenge_id": "mkt:/3",
        "title": "印染废水脱色",
        "description": "印染废水色度高，想找低成本脱色技术。",
        "field": "时尚纺织",
        "issuer": "嘉善某印染厂",
        "region": "浙江省嘉兴市嘉善县",
        "url": "http://market.example/xq/3",
        "source": "jiashan_market",
    },
    {
        "challenge_id": "mkt:/old",
        "title": "已过期的需求",
        "description": "截止日期已过。",
        "field": "生命健康",
        "deadline": date(2020, 1, 1),
        "issuer": "某公司",
        "url": "http://market.example/xq/old",
        "source": "jiashan_market",
    },
]
LISTINGS = [
    {
        "listing_id": "CN1",
        "kind": "patent",
        "title": "一种耐热锂电池隔膜",
        "abstract": "本发明公开了一种耐热锂电池隔膜及其制备方法。",
        "applicants": ["某大学"],
        "field": "新能源新材料",
        "url": "https://patents.example/CN1",
        "source": "google_patents",
        "publication_number": "CN1",
    },
    {
        "listing_id": "zju:/a1",
        "kind": "achievement",
        "title": "高耐热陶瓷涂覆隔膜",
        "abstract": "陶瓷涂覆提高隔膜耐热性。",
        "field": "新能源新材料",
        "maturity": "中试",
        "url": "https://zju.example/a1",
        "source": "zju",
    },
    {
        "listing_id": "CN2",
        "kind": "patent",
        "title": "双极板防腐涂层",
        "abstract": "一种金属双极板的防腐涂层。",
        "field": "新能源新材料",
        "url": "https://cnipr.example/CN2",
        "source": "cnipr",
        "publication_number": "CN2",
    },
    {
        "listing_id": "thu:/a2",
        "kind": "achievement",
        "title": "体外诊断冻干试剂",
        "abstract": "冻干保护剂配方延长试剂保存期。",
        "field": "生命健康",
        "url": "https://thu.example/a2",
        "source": "tsinghua",
    },
    {
        "listing_id": "CN3",
        "kind": "patent",
        "title": "氢燃料电池金属双极板",
        "abstract": "金属双极板流场结构。",
        "field": "新能源新材料",
        "url": "https://patents.example/CN3",
        "source": "google_patents",
        "publication_number": "CN3",
    },
]


def _terms(term: str, challenge_spans, listing_spans) -> list[dict]:
    return [
        {
            "term": term,
            "listing_term": term,
            "weight": 1.0,
            "challenge_spans": challenge_spans,
            "listing_spans": listing_spans,
        }
    ]


# (challenge, listing, rank, score, matched terms)
MATCHES = [
    ("mkt:/1", "CN1", 1, 80.0, _terms("锂电池", [[0, 3]], [[4, 7]])),
    ("mkt:/1", "zju:/a1", 2, 60.0, _terms("隔膜", [[3, 5]], [[7, 9]])),
    ("mkt:/1", "CN2", 3, 20.0, []),
    ("firm:anon", "CN2", 1, 75.0, _terms("双极板", [[5, 8]], [[0, 3]])),
    ("firm:anon", "CN3", 2, 55.0, _terms("氢燃料电池", [[0, 5]], [[0, 5]])),
    ("firm:anon", "zju:/a1", 3, 15.0, []),
    ("mkt:/2", "thu:/a2", 1, 50.0, _terms("体外诊断", [[0, 4]], [[0, 4]])),
    ("mkt:/2", "CN1", 2, 10.0, []),
]


def register(warehouse: Warehouse, *accounts: User) -> list[User]:
    """Accounts for Users a test builds in code: the services re-read the account behind every
    User they are given. No password signs in to them (the hash is not an argon2 hash)."""
    for user in accounts:
        if users.get_user(warehouse, user.username) is None:
            users.upsert_user(
                warehouse,
                username=user.username,
                display_name=user.display_name,
                role=user.role,
                firm=user.firm,
                password_hash="!test-account",
            )
    return list(accounts)


def seed(path: Path) -> Warehouse:
    """The known warehouse at `path`."""
    wh = open_warehouse(path, 30)
    store.upsert_challenges(wh, CHALLENGES)
    store.upsert_listings(wh, [{"claims": "", **listing} for listing in LISTINGS])
    wh.execute(
        "UPDATE challenges SET firm = ?, posted_by = 'hq', anonymous = (challenge_id = 'firm:anon'),"
        " targets = '耐腐蚀 5000 h' WHERE challenge_id LIKE 'firm:%'",
        [FIRM],
    )
    wh.execute("UPDATE challenges SET status = '草稿' WHERE challenge_id = 'firm:draft'")
    wh.execute("UPDATE challenges SET status = '待审核' WHERE challenge_id = 'mkt:/3'")
    wh.execute("UPDATE challenges SET first_seen = ? WHERE challenge_id = 'mkt:/2'", [datetime(2026, 1, 15, 9)])
    run_id = store.start_run(wh, "nightly-refresh")
    store.replace_matches(
        wh,
        run_id,
        [c["challenge_id"] for c in CHALLENGES],
        [
            {
                "challenge_id": c,
                "listing_id": lid,
                "rank": rank,
                "score": score,
                "parts": {"coverage": round(score * 0.6, 2), "relevance": round(score * 0.4, 2)},
                "matched_terms": terms,
            }
            for c, lid, rank, score, terms in MATCHES
        ],
    )
    store.finish_run(wh, run_id, {"sources": {"zju": {"loaded": 1, "quarantined": 0, "blocked": 0}}})
    register(wh, BROKER, ADMIN, FIRM_USER)
    return wh
