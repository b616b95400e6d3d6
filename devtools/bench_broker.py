"""Benchmark of the broker workspace at scale (a script, not a test): is every interaction of the
broker page, the dashboards, the board and the audit page under a second with 10,000 challenges
and 1,000,000 listings in the warehouse?

    python -m devtools.bench_broker --challenges 10000 --listings 1000000

It builds a warehouse file with DuckDB SQL alone (INSERT … SELECT from range(): no rows pass
through Python): the listings and challenges, ~20 matches per challenge, reviews along the
pipeline (入围, 排除, 已联系, 意向, 签约 with amounts and dates), shares, applications and audit
lines. Then it times the service calls each interaction makes (median and worst of --repeat
runs; each opens the file like the app does) and prints the figures and the peak memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from jiebang import accounts, audit, broker, dashboard, solver
from jiebang.pipeline import open_warehouse
from warehouse.gateway import Warehouse
from warehouse.workspace_queries import Filters

TODAY = date(2026, 11, 26)
WORDS = (
    "锂电池",
    "氢燃料电池",
    "谐波减速器",
    "石墨烯",
    "体外诊断",
    "智能传感",
    "碳纤维",
    "光纤激光器",
    "印染废水",
    "功能性纤维",
    "储能",
    "质子交换膜",
    "增材制造",
    "精密轴承",
    "图像处理芯片",
    "物联网",
    "医学影像",
    "抗体药物",
    "智能家居",
    "柔性化生产",
)
FIELDS = ("新一代信息技术", "生命健康", "新能源新材料", "高端装备制造", "绿色智能家居", "时尚纺织")
SOURCES = ("google_patents", "cnipr", "zju", "tsinghua", "fudan", "tongji", "cas")
REGIONS = ("浙江省嘉兴市嘉善县", "上海市青浦区", "江苏省苏州市吴江区", "浙江省杭州市", "北京市海淀区")


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _pick(values: tuple[str, ...], expr: str) -> str:
    """The SQL for values[expr mod len] (expr an integer expression)."""
    return f"{_sql_list(values)}[1 + (({expr}) % {len(values)})::INTEGER]"


def _listing_id(i: str) -> str:
    return f"CASE WHEN {i} % 3 = 0 THEN 'CN' || (100000000 + {i}) ELSE 'bench:/kjcg/' || {i} END"


def build(path: Path, n_challenges: int, n_listings: int, per_challenge: int) -> Warehouse:
    """A fresh warehouse file filled by SQL alone; returns it."""
    for stale in (path, path.with_suffix(path.suffix + ".wal")):
        stale.unlink(missing_ok=True)
    wh = open_warehouse(path, 60)
    w = lambda k: _pick(WORDS, f"hash(i * {k} + {k})")  # noqa: E731 — a word chosen by i
    step = max(1, n_listings // per_challenge)
    sql = [
        f"""INSERT INTO listings (listing_id, kind, title, abstract, applicants, field, maturity, cooperation,
                price_text, region, legal_status, published_on, url, source, sources, content_hash,
                first_seen, last_seen, last_changed, active)
        SELECT {_listing_id("i")}, CASE WHEN i % 3 = 0 THEN 'patent' ELSE 'achievement' END,
               {w(1)} || {w(2)} || '的制备方法及' || {w(3)} || '应用',
               repeat('本成果涉及' || {w(4)} || '与' || {w(5)} || '技术，解决了现有' || {w(6)}
                      || '在高温高湿环境下性能衰减快、良率低的问题，可用于' || {w(7)} || '产线。', 4),
               ['某某大学' || (i % 97)], {_pick(FIELDS, "i")}, {_pick(("实验室", "小试", "中试", "产业化"), "i // 7")},
               '技术转让', CASE WHEN i % 5 = 0 THEN '面议' ELSE (10 + i % 300) || ' 万元' END,
               {_pick(REGIONS, "i // 11")}, '有效', DATE '2015-01-01' + (i % 3650)::INTEGER,
               'https://example.org/listing/' || i, {_pick(SOURCES, "i")}, [{_pick(SOURCES, "i")}], md5(i::VARCHAR),
               TIMESTAMP '2026-01-01' + to_days((i % 300)::INTEGER),
               TIMESTAMP '2026-11-20' + to_hours((i % 120)::INTEGER), TIMESTAMP '2026-06-01', i % 50 <> 0
        FROM range({n_listings}) t(i)""",
        f"""INSERT INTO challenges (challenge_id, title, description, field, budget_wan, deadline, issuer, region,
                cooperation, status, url, source, content_hash, first_seen, last_seen, last_changed, firm, posted_by,
                targets, anonymous, revealed, number)
        SELECT CASE WHEN i % 10 = 0 THEN 'firm:' || i ELSE 'bench:/xq/' || i END,
               {w(11)} || {w(12)} || '寿命短，寻求' || {w(13)} || '方案',
               repeat('我公司主要生产' || {w(14)} || '，目前' || {w(15)} || '良率偏低，希望找到成熟的'
                      || {w(16)} || '技术，能在现有产线上导入。', 3),
               {_pick(FIELDS, "i")}, 50 + i % 500, DATE '2027-06-30' - (i % 400)::INTEGER,
               '嘉善企业' || i || '有限公司', {_pick(REGIONS, "i // 3")}, '合作开发',
               {_pick(("已发布", "已发布", "已发布", "待审核", "已揭榜"), "i // 13")},
               'https://example.org/need/' || i, CASE WHEN i % 10 = 0 THEN 'firm' ELSE 'jiashan_market' END,
               md5(i::VARCHAR), TIMESTAMP '2026-01-01' + to_days((i % 320)::INTEGER), TIMESTAMP '2026-11-25',
               TIMESTAMP '2026-06-01', CASE WHEN i % 10 = 0 THEN '嘉善企业' || i || '有限公司' END,
               CASE WHEN i % 10 = 0 THEN 'firm' || i END, '良率≥95%', i % 20 = 0, FALSE,
               printf('XQ2026-%04d', i + 1)  -- posted in 2026, numbered as the store would
        FROM range({n_challenges}) t(i)""",
        f"""INSERT INTO matches
        SELECT CASE WHEN c % 10 = 0 THEN 'firm:' || c ELSE 'bench:/xq/' || c END,
               {_listing_id(f"(c * 7919 + k * {step}) % {n_listings}")}, k + 1,
               greatest(1, 95 - k * 4 - c % 9) AS score,
               json_object('coverage', round((95 - k * 4 - c % 9) * 0.6, 2), 'relevance',
                           round((95 - k * 4 - c % 9) * 0.4, 2)),
               '[{{"term": "锂电池", "listing_term": "锂电池", "weight": 3.2, "challenge_spans": [[0, 3], [20, 23]],'
               ' "listing_spans": [[0, 3], [40, 43]]}}, {{"term": "良率", "listing_term": "良率", "weight": 2.1,'
               ' "challenge_spans": [[30, 32]], "listing_spans": [[60, 62]]}}]',
               'bench', TIMESTAMP '2026-11-25 02:10'
        FROM range({n_challenges}) a(c), range({per_challenge}) b(k)""",
        # Reviews along the pipeline: a third of the challenges reviewed, some pairs carried further.
        """INSERT INTO reviews (challenge_id, listing_id, decision, reason, note, reviewer, decided_at,
                deal_amount_wan, deal_date)
        SELECT challenge_id, listing_id, d.decision, CASE WHEN d.decision = 'reject' THEN '技术不对口' END,
               CASE WHEN d.decision = 'contacted' THEN '已电话沟通' END, 'broker' || (hash(challenge_id) % 5),
               TIMESTAMP '2026-01-05' + to_days((hash(challenge_id) % 320)::INTEGER) + to_hours(d.step),
               CASE WHEN d.decision = 'signed' THEN 20 + hash(listing_id) % 480 END,
               CASE WHEN d.decision = 'signed'
                    THEN DATE '2025-01-01' + (hash(challenge_id || listing_id) % 690)::INTEGER END
        -- share: of 16 pairs, how many get this far
        FROM matches m, (VALUES (1, 'shortlist', 16), (2, 'contacted', 8), (3, 'intent', 4), (4, 'signed', 2),
                                (5, 'reject', 16)) d(step, decision, share)
        WHERE hash(m.challenge_id) % 3 = 0 AND hash(m.challenge_id || m.listing_id) % 16 < d.share
          AND CASE WHEN d.decision = 'reject' THEN m.rank BETWEEN 4 AND 6 ELSE m.rank <= 3 END
        ORDER BY d.step""",
        """INSERT INTO match_shares SELECT challenge_id, listing_id, 'broker0', decided_at FROM reviews
           WHERE decision = 'shortlist' AND challenge_id LIKE 'firm:%'""",
        f"""INSERT INTO applications (challenge_id, team, proposal, contact, session_key, submitted_at)
        SELECT CASE WHEN c % 10 = 0 THEN 'firm:' || c ELSE 'bench:/xq/' || c END, '某某大学团队' || c,
               repeat('我们在该方向有多年积累，已完成中试。', 3), '1380000' || lpad((c % 10000)::VARCHAR, 4, '0'),
               md5(c::VARCHAR), TIMESTAMP '2026-10-01' + to_minutes(c::INTEGER)
        FROM range(0, {n_challenges}, 7) t(c)""",
        """INSERT INTO audit_log (actor, role, action, entity_type, entity_id, before, after, acted_at)
        SELECT reviewer, 'broker', 'decide', 'match', challenge_id || '|' || listing_id, NULL,
               json_object('decision', decision), decided_at FROM reviews""",
        """INSERT INTO runs (run_id, flow, status, started_at, finished_at, stats, error)
           VALUES ('bench-nightly', 'nightly-refresh', 'completed',
                   TIMESTAMP '2026-11-25 18:00', TIMESTAMP '2026-11-25 18:40',
                   '{"sources": {"zju": {"loaded": 12, "quarantined": 0}}}', NULL)""",
    ]
    with wh.transaction() as con:
        for statement in sql:
            con.execute(statement)
    return wh


def _time(call: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    seconds, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), max(seconds), result


def run(
    path: Path, n_challenges: int, n_listings: int, per_challenge: int, repeat: int
) -> list[tuple[str, float, float]]:
    start = time.perf_counter()
    # Built in a fresh interpreter, so that the peak memory printed at the end is the interactions'
    # own (multiprocessing's spawn would re-run whatever script is __main__, e.g. a Streamlit page).
    code = (
        f"from pathlib import Path; from devtools.bench_broker import build; "
        f"build(Path({str(path)!r}), {n_challenges}, {n_listings}, {per_challenge})"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"building {path} failed (exit code {done.returncode}): {done.stderr[-1000:]}")
    wh = Warehouse(path, 60)
    counts = wh.query(
        "SELECT (SELECT count(*) FROM listings) AS listings, (SELECT count(*) FROM challenges) AS challenges,"
        " (SELECT count(*) FROM matches) AS matches, (SELECT count(*) FROM reviews) AS reviews"
    )[0]
    print(
        f"built {path} in {time.perf_counter() - start:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        + f"; file {path.stat().st_size / 2**20:,.0f} MB"
    )

    # Real accounts: every service call re-reads the account behind the User it is given.
    me, admin = (
        accounts.add_user(wh, name, accounts.random_password(), role, display_name=label)
        for name, role, label in (("bench", "broker", "压测经纪人"), ("root", "admin", "管理员"))
    )
    # A firm's challenge (so sharing applies) with enough undecided matches to decide on.
    for number in range(0, n_challenges, 10):
        firm_id = f"firm:{number}"
        fresh = [m["listing_id"] for m in broker.match_page(wh, me, firm_id).rows if m["decision"] is None]
        if len(fresh) >= 5:
            break
    deep = max(0, (n_challenges // broker.QUEUE_PAGE_SIZE) // 2)
    interactions: list[tuple[str, Callable[[], Any]]] = [
        ("filter options (distinct values)", lambda: broker.filter_options(wh, me)),
        ("queue page 1, no filter", lambda: broker.review_queue_page(wh, me)),
        (f"queue page {deep + 1} (deep offset)", lambda: broker.review_queue_page(wh, me, page=deep)),
        ("queue: industry", lambda: broker.review_queue_page(wh, me, Filters(field=FIELDS[2]))),
        ("queue: score 60–100", lambda: broker.review_queue_page(wh, me, Filters(min_score=60))),
        ("queue: listing kind patent", lambda: broker.review_queue_page(wh, me, Filters(kind="patent"))),
        ("queue: source zju", lambda: broker.review_queue_page(wh, me, Filters(source="zju"))),
        (
            "queue: region + date range",
            lambda: broker.review_queue_page(
                wh, me, Filters(region="嘉善", posted_from=date(2026, 3, 1), posted_to=date(2026, 6, 30))
            ),
        ),
        ("queue: decision unreviewed", lambda: broker.review_queue_page(wh, me, Filters(decision="unreviewed"))),
        (
            "queue: all filters",
            lambda: broker.review_queue_page(
                wh,
                me,
                Filters(
                    field=FIELDS[2], region="嘉善", min_score=50, kind="patent", source="cnipr", decision="unreviewed"
                ),
            ),
        ),
        ("challenge detail", lambda: broker.challenge(wh, me, firm_id)),
        ("match page (10 cards + notes)", lambda: broker.match_page(wh, me, firm_id)),
        ("match page, filtered", lambda: broker.match_page(wh, me, firm_id, Filters(kind="achievement", min_score=40))),
        ("applications beside matches", lambda: broker.applications(wh, me, firm_id)),
        ("decision 入围 (write + audit)", lambda: broker.decide(wh, me, firm_id, fresh[0], "shortlist", note="bench")),
        (
            "decision 签约 (validated)",
            lambda: broker.decide(
                wh,
                me,
                firm_id,
                fresh[1],
                "signed",
                deal_amount_wan=88,
                deal_date=TODAY - timedelta(days=3),
                today=TODAY,
            ),
        ),
        ("bulk 已联系 × 3", lambda: broker.decide_many(wh, me, firm_id, fresh[2:5], "contacted")),
        ("share with firm", lambda: broker.share_match(wh, me, firm_id, fresh[0])),
        ("export shortlist .xlsx", lambda: broker.export_shortlist(wh, me, firm_id, "xlsx")),
        ("export shortlist .csv", lambda: broker.export_shortlist(wh, me, firm_id, "csv")),
        ("export pipeline .csv (all decided pairs)", lambda: broker.export_pipeline(wh, me, "csv")),
        ("export pipeline .xlsx (all decided pairs)", lambda: broker.export_pipeline(wh, me, "xlsx")),
        ("dashboard: funnel", lambda: dashboard.funnel(wh, me)),
        ("dashboard: by industry", lambda: dashboard.by_industry(wh, me)),
        ("dashboard: deals by month", lambda: dashboard.deals_by_month(wh, me)),
        ("dashboard: source freshness", lambda: dashboard.source_freshness(wh, me)),
        ("dashboard: last nightly run", lambda: dashboard.last_nightly_run(wh, me)),
        ("board page (public)", lambda: solver.board(wh, today=TODAY)),
        ("board search", lambda: solver.board(wh, today=TODAY, search="石墨烯")),
        ("audit page (admin)", lambda: audit.audit_entries(wh, admin)),
        ("audit filtered by actor", lambda: audit.audit_entries(wh, admin, actor="broker1", page=3)),
    ]
    figures = []
    for name, call in interactions:
        median, worst, _ = _time(call, repeat)
        figures.append((name, median, worst))

    # What one rerun of the broker page asks for, end to end.
    def page_calls() -> tuple:
        return (
            broker.filter_options(wh, me),
            broker.review_queue_page(wh, me),
            broker.challenge(wh, me, firm_id),
            broker.applications(wh, me, firm_id),
            broker.match_page(wh, me, firm_id),
        )

    median, worst, _ = _time(page_calls, repeat)
    figures.append(("broker page rerun (all its service calls)", median, worst))
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: python -m devtools.bench_broker --challenges 1000 --listings 100000",
    )
    parser.add_argument("--challenges", type=int, default=10_000)
    parser.add_argument("--listings", type=int, default=1_000_000)
    parser.add_argument("--matches-per-challenge", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per interaction (median and worst shown)")
    parser.add_argument("--path", type=Path, default=Path("var/bench_broker.duckdb"))
    args = parser.parse_args(argv)
    figures = run(args.path, args.challenges, args.listings, args.matches_per_challenge, args.repeat)
    print(f"\n{'interaction':<46} {'median ms':>10} {'worst ms':>10}")
    for name, median, worst in figures:
        flag = "" if worst < 1.0 else "  ← over 1 s"
        print(f"{name:<46} {median * 1000:>10.0f} {worst * 1000:>10.0f}{flag}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the timed interactions (the build ran in its own process): {peak:,.0f} MB")


if __name__ == "__main__":
    main()
