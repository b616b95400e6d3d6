"""Firm page (发布需求): post a challenge; it is checked, stored, and matched at once."""

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from jiebang import firm
from jiebang.display import beijing_today, challenge_number
from jiebang.errors import KNOWN_ERRORS, IndexUnusable
from ui.context import ANY_DATE, current_user, match_now, or_stop, plain, warehouse

# Widget keys of the form, by the service's field names; what an empty form holds.
KEYS = {name: f"post_{name}" for name in firm.FIELD_LABELS}
EMPTY = {name: None for name in firm.FIELD_LABELS} | {
    "title": "",
    "description": "",
    "targets": "",
    "region": "浙江省嘉兴市嘉善县",
    "confidentiality": firm.CONFIDENTIALITY[0],
}
PROBLEMS = "post_problems"  # field name → why, from the last refused post
POSTED = "post_result"  # (PostResult, submitted) of the post the next run reports and matches
INDEX_PENDING = (  # shown instead of the matches when the index needs the next run's rebuild
    "需求已保存。匹配索引正在维护，本次暂未匹配；匹配将在下一次运行重建索引后进行，技术经纪人审核时会为这条需求匹配。"
)

user = current_user()
wh = warehouse()
st.title("发布需求")
firm_user = or_stop(firm.require_firm, wh, user)

st.caption(
    "企业出题：写清楚遇到的技术问题、目前的做法和希望达到的指标。提交后平台立即为您匹配专利和科技成果，"
    "技术经纪人审核后发布到榜单，并把合适的成果推荐给您。"
)
for name, key in KEYS.items():  # defaults through the state, so a cleared form is a real empty form
    st.session_state.setdefault(key, EMPTY[name])


def _post(submit: bool) -> None:
    """Store what the firm entered, exactly: a refused post keeps the form as typed and names each
    field's problem beside it; a stored one empties the form for the next challenge."""
    form = {name: st.session_state.get(key) for name, key in KEYS.items()}
    try:
        result = firm.post_challenge(wh, firm_user, form, today=beijing_today(), submit=submit)
    except firm.InvalidChallenge as exc:
        st.session_state[PROBLEMS] = exc.problems
        return
    st.session_state.pop(PROBLEMS, None)
    st.session_state[POSTED] = (result, submit)
    for name, key in KEYS.items():
        st.session_state[key] = EMPTY[name]


problems: dict[str, str] = st.session_state.get(PROBLEMS) or {}


def _problem(name: str) -> None:
    if name in problems:
        st.error(f"{firm.FIELD_LABELS[name]}：{plain(problems[name])}", icon=":material/error:")


messages = st.container()  # results show above the form, where the eye is after a click
if problems:
    messages.error(f"有 {len(problems)} 处需要修改，请看各栏下方的提示。")
    for name in problems.keys() - KEYS.keys():
        messages.error(f"{plain(name)}：{plain(problems[name])}")

with st.form("post_challenge"):
    st.text_input(
        "标题 *",
        key=KEYS["title"],
        max_chars=firm.TITLE_CHARS[1],
        placeholder="一句话说清要解决的技术问题，如：注塑外壳外观缺陷AI视觉检测",
    )
    _problem("title")
    st.text_area(
        "需求描述 *",
        key=KEYS["description"],
        height=200,
        max_chars=firm.DESCRIPTION_CHARS[1],
        placeholder="遇到的问题是什么？目前怎么做、做到哪一步、试过哪些办法？希望达到什么目标？"
        f"（至少 {firm.DESCRIPTION_CHARS[0]} 个字）",
    )
    _problem("description")
    left, right = st.columns(2)
    with left:
        st.selectbox("所属行业 *", firm.INDUSTRIES, key=KEYS["field"], placeholder="请选择行业")
        _problem("field")
        st.number_input("榜额/预算（万元，留空表示面议）", key=KEYS["budget_wan"], step=10.0)
        _problem("budget_wan")
        st.selectbox("合作方式 *", firm.COOPERATION_MODES, key=KEYS["cooperation"], placeholder="请选择合作方式")
        _problem("cooperation")
    with right:
        st.date_input("截止日期 *", key=KEYS["deadline"], format="YYYY/MM/DD", **ANY_DATE)
        _problem("deadline")
        st.text_input("地区", key=KEYS["region"], max_chars=firm.REGION_MAX_CHARS)
        _problem("region")
        st.radio(
            "保密方式",
            firm.CONFIDENTIALITY,
            key=KEYS["confidentiality"],
            horizontal=True,
            help="匿名：经纪人揭示前，揭榜方看不到企业名称。",
        )
        _problem("confidentiality")
    st.text_area(
        "期望指标",
        key=KEYS["targets"],
        max_chars=firm.TARGETS_MAX_CHARS,
        placeholder="可量化的验收指标，如：漏检率≤0.1%，单件节拍≤1.2s",
    )
    _problem("targets")
    st.form_submit_button("保存草稿", on_click=_post, args=(False,))
    st.form_submit_button("提交审核", type="primary", on_click=_post, args=(True,))

if posted := st.session_state.pop(POSTED, None):
    result, submit = posted
    with messages:
        for hint in result.duplicates:
            if hint.title is not None:
                st.warning(
                    f"疑似重复：与已有需求「{plain(hint.title)}」（{plain(hint.status)}）相似度 {hint.score:.0f}%。"
                    "已照常保存，经纪人审核时会核对。"
                )
            else:
                st.warning(f"疑似重复：平台上已有一条相似度 {hint.score:.0f}% 的需求。已照常保存，经纪人审核时会核对。")
        st.success(
            ("已提交，匹配中…" if submit else "已保存草稿，匹配中…")
            + f"　需求编号：{challenge_number(result.challenge)}"
        )
        try:
            with st.spinner("正在匹配专利和科技成果…"):
                outcome = match_now(wh, result.challenge_id)
        except IndexUnusable:  # the why (paths, what to run) is for the operator, not the firm
            st.info(INDEX_PENDING)
        except KNOWN_ERRORS as exc:
            st.warning(f"需求已保存，但匹配暂未完成：{plain(exc)}。经纪人审核时会重新匹配。")
        else:
            st.success(f"匹配完成：找到 {outcome['matches']} 条候选成果，技术经纪人审核后会把合适的推荐给您。")
        try:
            st.page_link(
                "pages/firm_challenges.py",
                label="查看这条需求",
                icon=":material/arrow_forward:",
                query_params={"challenge": result.challenge_id},
            )
        except StreamlitPageNotFoundError:  # the page run on its own, outside the app's navigation
            st.caption("在「我的需求」中查看这条需求。")
