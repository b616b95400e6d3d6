"""Browser timings of the broker page (a script, not a test): how long a broker waits, from a
click until the page has settled, in headless Chromium against the real app (`jiebang ui`).

    python -m devtools.bench_browser                                   # the demo data
    python -m devtools.bench_browser --challenges 1000 --listings 100000

The demo data is the replay site crawled, loaded and matched as the nightly does (no Prefect);
with --challenges/--listings the warehouse is built by devtools.bench_broker instead. A broker
account is added, the app is started on a free port, and each round (--repeat) signs in afresh,
switches challenge, then clicks 入围, chooses a reject reason, 排除, 撤销, submits a follow-up
(意向) and a bulk 入围 of two ticked cards, each on a card nobody has decided on.

"Settled" is measured in the page: Streamlit's running indicator is gone, no element of the last
run is left stale, and the state the click asked for is visible (the new header, the card's new
status, the flash line). Printed: median and max per interaction (ms), and the targets.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from devtools.app_server import start_app

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-first-run",
]
TIMEOUT_MS = 60_000
USER, PASSWORD = "bench_broker", "bench-browser-pass-1"
# interaction → target (seconds) from issue 16
INTERACTIONS = {
    "sign in (登录 → cards shown)": 1.5,
    "switch challenge": 1.0,
    "入围 (shortlist)": 0.5,
    "choose reject reason": 0.5,
    "排除 (reject)": 0.5,
    "撤销 (undo the reject)": 0.5,
    "follow-up 意向": 0.5,
    "bulk 入围 × 2": 1.0,
}

# The page has settled: no running indicator, nothing stale, and `state` (a JS expression) holds.
_SETTLED = """([state, arg]) => {
    if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
    if (document.querySelector('[data-stale="true"]')) return false;
    return new Function('arg', 'return ' + state)(arg);
}"""


def demo_warehouse(folder: Path) -> Path:
    """The demo's data: the replay site crawled, loaded and matched in this process."""
    from concurrent.futures import ThreadPoolExecutor

    from crawlers.runner import crawl_source
    from devtools.replay_site import ReplaySite, SampleData
    from jiebang import matching_run
    from jiebang.loading import load_feed
    from jiebang.pipeline import open_warehouse
    from jiebang.settings import Settings
    from warehouse import store

    with ReplaySite(SampleData.load()) as site:
        settings = Settings(warehouse_path=folder / "jiebang.duckdb").with_replay_base(site.base_url)
        wh = open_warehouse(settings.warehouse_path, 30)
        run_id = store.start_run(wh, "bench-browser")
        with ThreadPoolExecutor(max_workers=len(settings.sources)) as pool:
            outputs = list(
                pool.map(lambda s: crawl_source(s, settings.crawl_config(), folder / "runs"), settings.sources)
            )
        for source, output in zip(settings.sources, outputs, strict=True):
            load_feed(wh, output.items_path, source=source.name, run_id=run_id)
        plan = matching_run.prepare(wh, folder / "index", today=date.today(), top_k=10)
        matching_run.store_matches(wh, run_id, plan, matching_run.run(plan))
        store.finish_run(wh, run_id, {})
    return settings.warehouse_path


def scale_warehouse(folder: Path, challenges: int, listings: int) -> Path:
    """A warehouse of `challenges` × `listings` built by devtools.bench_broker (SQL only)."""
    path = folder / "jiebang.duckdb"
    code = (
        "from pathlib import Path; from devtools.bench_broker import build; "
        f"build(Path({str(path)!r}), {challenges}, {listings}, 20)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"building {path} failed: {done.stderr[-1000:]}")
    return path


def _title(option: str) -> str:
    """The challenge title in a queue option: its 需求编号 first, then the title, then counts."""
    return re.sub(r"^\S+\s+", "", option.split("·")[0].strip())


class Round:
    """One broker session in its own browser context; each method is one timed interaction."""

    def __init__(self, browser, url: str, record: Callable[[str, float], None]) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1100})
        self.url = url
        self.record = record

    def _timed(self, name: str, click: Callable[[], None], state: str, arg=None) -> None:
        start = time.perf_counter()
        click()
        self.page.wait_for_function(_SETTLED, arg=[state, arg], timeout=TIMEOUT_MS, polling="raf")
        self.record(name, time.perf_counter() - start)

    def _idle(self) -> None:
        """Wait, untimed, until nothing runs (e.g. after opening an expander)."""
        self.page.wait_for_timeout(150)
        self.page.wait_for_function(_SETTLED, arg=["true", None], timeout=TIMEOUT_MS, polling="raf")

    def sign_in(self) -> None:

        page = self.page
        page.goto(self.url)
        page.get_by_label("用户名 (username)").fill(USER)
        password = page.get_by_label("密码 (password)")
        password.fill(PASSWORD)
        self._idle()
        self._timed(
            "sign in (登录 → cards shown)",
            lambda: page.get_by_role("button", name="登录", exact=True).click(),
            "!!document.querySelector('.st-key-match-1, [class*=\"st-key-match-\"]')",
        )

    def _card(self, rank: int):
        return self.page.locator(f".st-key-match-{rank}")

    def _undecided(self, n: int) -> list[int]:
        """The ranks of the first `n` cards on screen with no decision yet."""
        ranks = []
        for card in self.page.locator("[class*='st-key-match-']").all():
            text = card.inner_text()
            if "状态：" in text or "已排除" in text:
                continue
            cls = next(c for c in (card.get_attribute("class") or "").split() if c.startswith("st-key-match-"))
            ranks.append(int(cls.rsplit("-", 1)[1]))
            if len(ranks) == n:
                break
        return ranks

    def _open_list(self, trigger, option) -> None:
        """Click `trigger` until `option` shows: a list opened while the page still scrolls or
        redraws closes again (untimed: the timed part is choosing from it)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        for attempt in range(3):
            trigger.click()
            try:
                option.wait_for(timeout=TIMEOUT_MS // 6 if attempt < 2 else TIMEOUT_MS)
                return
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
                self._idle()

    def switch(self, avoid: set[str]) -> str:
        page = self.page
        selector = page.get_by_test_id("stSelectbox").filter(has_text="需求（共")
        selector.scroll_into_view_if_needed()
        self._idle()
        header = page.get_by_test_id("stMainBlockContainer").locator("h3").first.inner_text().strip()
        avoid = {*avoid, header}  # a different challenge than the one on screen
        options = page.get_by_role("option")
        self._open_list(selector.get_by_role("combobox"), options.first)
        target = next((o for o in options.all() if _title(o.inner_text()) not in avoid), options.last)
        title = _title(target.inner_text())
        shown = "document.querySelector('[data-testid=\"stMainBlockContainer\"] h3')"
        self._timed(
            "switch challenge",
            target.click,
            f"{shown} && {shown}.innerText.trim() === arg && !!document.querySelector('[class*=\"st-key-match-\"]')",
            title,
        )
        return title

    def decide(self) -> None:
        ranks = self._undecided(5)
        if len(ranks) < 5:
            return  # too few fresh cards on this challenge: the next round takes another one
        card = lambda r: f"document.querySelector('.st-key-match-{r}')"  # noqa: E731
        short, rej, follow, *bulk = ranks
        self._timed(
            "入围 (shortlist)",
            lambda: self._card(short).get_by_role("button", name="入围", exact=True).click(),
            f"{card(short)}.innerText.includes('状态：入围')",
        )
        reject_card = self._card(rej)
        reject_card.scroll_into_view_if_needed()
        self._idle()
        option = self.page.get_by_role("option", name="技术不对口")
        self._open_list(reject_card.get_by_label("排除原因"), option)
        self._timed(
            "choose reject reason",
            option.click,
            f"[...{card(rej)}.querySelectorAll('button')].some(b => b.innerText.trim() === '排除' && !b.disabled)",
        )
        self._timed(
            "排除 (reject)",
            lambda: reject_card.get_by_role("button", name="排除", exact=True).click(),
            f"!{card(rej)} || {card(rej)}.innerText.includes('已排除')",
        )
        undo = self._card(rej).get_by_role("button", name="撤销")
        if undo.count():
            self._timed(
                "撤销 (undo the reject)",
                undo.click,
                f"{card(rej)} && [...{card(rej)}.querySelectorAll('button')].some(b => b.innerText.trim() === '入围')",
            )
        follow_card = self._card(follow)
        follow_card.get_by_text("跟进与备注").click()
        self._idle()
        follow_card.get_by_text("意向", exact=True).click()
        self._timed(
            "follow-up 意向",
            lambda: follow_card.get_by_role("button", name="提交", exact=True).click(),
            f"{card(follow)}.innerText.includes('已记录：意向')",
        )
        for rank in bulk:  # untimed: a tick changes nothing the server sends back to wait for
            self._card(rank).get_by_test_id("stCheckbox").first.click()
            self._idle()
        self.page.get_by_text("批量操作（先勾选匹配）").click()
        self._idle()
        self._timed(
            "bulk 入围 × 2",
            lambda: self.page.get_by_role("button", name="对选中的匹配执行").click(),
            "document.body.innerText.includes('已对 2 条匹配执行')",
        )

    def close(self) -> None:
        self.page.close()


def run(warehouse_path: Path, repeat: int, app_root: Path = ROOT) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from jiebang.accounts import add_user
    from warehouse.gateway import Warehouse

    add_user(Warehouse(warehouse_path, 60), USER, PASSWORD, "broker", display_name="压测经纪人")
    seconds: dict[str, list[float]] = {name: [] for name in INTERACTIONS}
    server, url = start_app(warehouse_path, app_root)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # A first visit outside the figures: Streamlit compiles the pages and imports on first use.
            warm = Round(browser, url, lambda name, s: None)
            warm.sign_in()
            warm.close()
            visited: set[str] = set()
            for _ in range(repeat):
                round_ = Round(browser, url, lambda name, s: seconds[name].append(s))
                round_.sign_in()
                visited.add(round_.switch(visited))
                round_.decide()
                round_.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return seconds


def report(seconds: dict[str, list[float]]) -> str:
    lines = [f"{'interaction':<32} {'n':>3} {'median ms':>10} {'max ms':>8} {'target ms':>10}"]
    for name, target in INTERACTIONS.items():
        values = seconds.get(name) or []
        if not values:
            lines.append(f"{name:<32} {0:>3} {'—':>10} {'—':>8} {target * 1000:>10.0f}")
            continue
        median, worst = statistics.median(values), max(values)
        flag = "" if median <= target else "  ← over target"
        lines.append(
            f"{name:<32} {len(values):>3} {median * 1000:>10.0f} {worst * 1000:>8.0f} {target * 1000:>10.0f}{flag}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--challenges", type=int, help="build a bench_broker warehouse of this many challenges")
    parser.add_argument("--listings", type=int, help="… and this many listings (with --challenges)")
    parser.add_argument("--warehouse", type=Path, help="time against a copy of this warehouse file instead")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (each signs in and decides on a new challenge)")
    parser.add_argument("--app-root", type=Path, default=ROOT, help="the checkout whose app is served (compare)")
    args = parser.parse_args(argv)
    if (args.challenges is None) != (args.listings is None):
        parser.error("--challenges and --listings go together")
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"{CHROMIUM} 不存在 (Chromium missing): apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        if args.warehouse:
            path = folder / "jiebang.duckdb"
            shutil.copy(args.warehouse, path)
            what = f"a copy of {args.warehouse}"
        elif args.challenges is not None:
            path = scale_warehouse(folder, args.challenges, args.listings)
            what = f"{args.challenges:,} challenges × {args.listings:,} listings"
        else:
            path = demo_warehouse(folder)
            what = "the demo data"
        print(f"warehouse: {what} (ready in {time.perf_counter() - start:.1f} s)", flush=True)
        seconds = run(path, args.repeat, args.app_root.resolve())
    print(report(seconds))


if __name__ == "__main__":
    main()
