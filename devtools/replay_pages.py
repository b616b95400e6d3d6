"""HTML/JSON renderers for the replay site, in the structure of the real sources.

Every value is escaped: the sample data is treated like crawled text.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

PAGE_SIZE = 10


def _page(title: str, body: str, charset: str = "utf-8") -> str:
    return (
        f'<!DOCTYPE html><html lang="zh"><head><meta charset="{charset}"><title>{escape(title)}</title>'
        f"</head><body>{body}</body></html>"
    )


def google_patents_search(patents: list[dict[str, Any]], num: int, page: int) -> str:
    """The JSON of patents.google.com/xhr/query (results.cluster[0].result[*].patent)."""
    total_pages = max(1, -(-len(patents) // num))
    chunk = patents[page * num : (page + 1) * num]
    results = [
        {
            "id": f"patent/{p['publication_number']}/zh",
            "rank": page * num + i,
            "patent": {
                "title": p["title"],
                "snippet": p["abstract"][:120],
                "priority_date": p["priority_date"],
                "filing_date": p["filing_date"],
                "publication_date": p["publication_date"],
                "inventor": ", ".join(p["inventors"]),
                "assignee": ", ".join(p["applicants"]),
                "publication_number": p["publication_number"],
                "language": "zh",
            },
        }
        for i, p in enumerate(chunk)
    ]
    return json.dumps(
        {
            "results": {
                "total_num_results": len(patents),
                "total_num_pages": total_pages,
                "num_page": page,
                "cluster": [{"result": results}],
            }
        },
        ensure_ascii=False,
    )


def google_patent_detail(p: dict[str, Any]) -> str:
    """A detail page with the itemprops of a real Google Patents page (see CN101551481B_zh.html)."""
    number = escape(p["publication_number"])
    inventors = "".join(f'<dd itemprop="inventor" repeat>{escape(n)}</dd>' for n in p["inventors"])
    assignees = "".join(f'<dd itemprop="assigneeOriginal" repeat>{escape(n)}</dd>' for n in p["applicants"])
    claims = "".join(
        f'<div class="claim"><div num="{i:04d}" class="claim"><div class="claim-text">{escape(c)}</div></div></div>'
        for i, c in enumerate(p["claims"], start=1)
    )
    ipc = "".join(
        f'<li itemprop="classifications" itemscope repeat><span itemprop="Code">{escape(code)}</span>'
        f'<meta itemprop="Leaf" content="true"></li>'
        for code in p["ipc"]
    )
    priority, filing, published = (
        f'<dd><time itemprop="{prop}" datetime="{p[key]}">{p[key]}</time></dd>'
        for prop, key in (
            ("priorityDate", "priority_date"),
            ("filingDate", "filing_date"),
            ("publicationDate", "publication_date"),
        )
    )
    legal = f'<dd itemprop="legalStatusIfi" itemscope><span itemprop="status">{escape(p["legal_status"])}</span></dd>'
    abstract = f'<div num="0001" class="abstract">{escape(p["abstract"])}</div>'
    body = f"""
<article class="result" itemscope itemtype="http://schema.org/ScholarlyArticle">
  <h1 itemprop="pageTitle">{number} - {escape(p["title"])} - Google Patents</h1>
  <span itemprop="title">{escape(p["title"])}</span>
  <meta itemprop="type" content="patent">
  <dl>
    <dt>Publication number</dt><dd itemprop="publicationNumber">{number}</dd>
    <dt>Inventor</dt>{inventors}
    <dt>Original Assignee</dt>{assignees}
    <dt>Priority date</dt>{priority}
    <dt>Filing date</dt>{filing}
    <dt>Publication date</dt>{published}
    <dt>Legal status</dt>{legal}
  </dl>
  <section itemprop="abstract" itemscope><h2>Abstract</h2>
    <div itemprop="content" html><abstract lang="ZH">{abstract}</abstract></div>
  </section>
  <section itemprop="claims" itemscope><h2>Claims (<span itemprop="count">{len(p["claims"])}</span>)</h2>
    <div itemprop="content" html><div lang="ZH" class="claims">{claims}</div></div>
  </section>
  <section><h2>Classifications</h2><ul itemprop="classifications" itemscope repeat>{ipc}</ul></section>
</article>"""
    return _page(f"{p['publication_number']} - {p['title']}", body)


def _pagination(page: int, total: int, href) -> str:
    last = max(1, -(-total // PAGE_SIZE))
    links = [f'<span class="total">共 {total} 条</span>']
    if page > 1:
        links.append(f'<a class="prev" href="{href(page - 1)}">上一页</a>')
    if page < last:
        links.append(f'<a class="next" href="{href(page + 1)}">下一页</a>')
    return f'<div class="pagination">{"".join(links)}</div>'


def achievement_list(site_name: str, site: str, items: list[dict[str, Any]], page: int) -> str:
    chunk = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    rows = "".join(
        f'<li class="cg-item"><a href="/{site}/kjcg/detail/{a["n"]}.html">{escape(a["title"])}</a>'
        f'<span class="date">{a["published"]}</span></li>'
        for a in chunk
    )
    body = f'<h1>{escape(site_name)} 科技成果</h1><ul class="cg-list">{rows}</ul>' + _pagination(
        page, len(items), lambda n: f"/{site}/kjcg/list_{n}.html"
    )
    return _page(f"{site_name} 科技成果", body)


def achievement_detail(a: dict[str, Any]) -> str:
    fields = [
        ("成果名称", "title", a["title"]),
        ("单位", "unit", a["unit"]),
        ("所属领域", "field", a["field"]),
        ("技术成熟度", "maturity", a["maturity"]),
        ("合作方式", "cooperation", a["cooperation"]),
        ("价格", "price", a["price"]),
        ("关键词", "keywords", "；".join(a["keywords"])),
        ("联系方式", "contact", a["contact"]),
        ("发布日期", "published", a["published"]),
    ]
    table = "".join(f'<tr><th>{label}</th><td class="{cls}">{escape(v)}</td></tr>' for label, cls, v in fields)
    body = (
        f'<div class="cg-detail"><h1 class="cg-title">{escape(a["title"])}</h1>'
        f'<table class="cg-info">{table}</table>'
        f'<div class="cg-summary"><h2>成果简介</h2><p>{escape(a["summary"])}</p></div></div>'
    )
    return _page(a["title"], body)


def _reward(need: dict[str, Any]) -> str:
    return "面议" if need["reward_wan"] is None else f"{need['reward_wan']}万元"


def need_list(needs: list[dict[str, Any]], page: int) -> str:
    chunk = needs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    rows = "".join(
        f'<tr><td class="xq-name"><a href="/jsmarket/xq/{escape(n["id"])}.html">{escape(n["title"])}</a></td>'
        f"<td>{escape(n['field'])}</td><td>{_reward(n)}</td>"
        f"<td>{n['deadline']}</td></tr>"
        for n in chunk
    )
    body = (
        '<h1>嘉善县科技大市场 · 揭榜挂帅 技术需求榜单</h1><table class="xq-list"><thead><tr>'
        "<th>需求名称</th><th>所属行业</th><th>榜额</th><th>截止日期</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>" + _pagination(page, len(needs), lambda n: f"/jsmarket/xqlist?page={n}")
    )
    return _page("技术需求榜单", body)


def need_detail(n: dict[str, Any]) -> str:
    reward = _reward(n)
    fields = [
        ("需求名称", "title", n["title"]),
        ("所属行业", "field", n["field"]),
        ("榜额", "reward", reward),
        ("截止日期", "deadline", n["deadline"]),
        ("发布单位", "issuer", n["issuer"]),
        ("地区", "region", n["region"]),
        ("合作方式", "cooperation", n["cooperation"]),
    ]
    table = "".join(f'<tr><th>{label}</th><td class="{cls}">{escape(v)}</td></tr>' for label, cls, v in fields)
    body = (
        f'<div class="xq-detail"><h1>{escape(n["title"])}</h1><table class="xq-info">{table}</table>'
        f'<div class="xq-desc"><h2>需求描述</h2><p>{escape(n["description"])}</p></div></div>'
    )
    return _page(n["title"], body)
