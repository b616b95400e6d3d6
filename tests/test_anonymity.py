"""An anonymous firm's name, in all the ways text writes it, cut out of what solvers see."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jiebang.anonymity import PLACEHOLDER, fold, name_variants, placeholder_for, redact

pytestmark = pytest.mark.unit

HQ = ("嘉善氢途科技有限公司", "Hydroway Technology (Jiashan) Co., Ltd.")
HC = ("浙江省嘉善县华辰新材料科技股份有限公司",)


def _norm(text: str) -> str:
    """The property's own comparison, written out again: NFKC, case folded, no whitespace."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if not c.isspace())


@pytest.mark.parametrize(
    "names, text, expected",
    [
        (HQ, "嘉善氢途科技有限公司现有金属双极板", "匿名企业现有金属双极板"),
        (HQ, "氢途科技现有双极板", "匿名企业现有双极板"),  # without 嘉善, 有限公司
        (HQ, "嘉善氢途的双极板", "匿名企业的双极板"),  # without 科技有限公司
        (HQ, "我们氢途公司希望", "我们匿名企业希望"),
        (HQ, "联系氢途", "联系匿名企业"),
        (HQ, "氢 途 科 技 寻求", "匿名企业 寻求"),  # spaced
        (HQ, "ＨＹＤＲＯＷＡＹ寻求", "匿名企业寻求"),  # full width, upper case
        (HQ, "hydroway technology 寻求", "匿名企业 寻求"),  # the English name, lower case
        (HQ, "HydroWay Tech 团队", "匿名企业 团队"),
        (HQ, "Hydroway Technology (Jiashan) Co., Ltd. 寻求", "匿名企业 寻求"),
        (HQ, "氢燃料电池双极板腐蚀", "氢燃料电池双极板腐蚀"),  # 氢 alone is not the name
        (HQ, "科技有限公司通用描述", "科技有限公司通用描述"),  # nor are the generic words
        (HC, "华辰股份的隔膜", "匿名企业的隔膜"),
        (HC, "华辰新材料与嘉善县华辰", "匿名企业与匿名企业"),
        (HC, "浙江华辰科技", "匿名企业"),
        (HC, "新材料科技公司的需求", "新材料科技公司的需求"),
        (("浙江智能装备有限公司",), "浙江智能装备有限公司需要智能装备", "匿名企业需要智能装备"),  # no own core
        (("嘉善A科技有限公司",), "A科技的方案，A 类", "A科技的方案，A 类"),  # a 1-letter core is not cut
        (("氢途",), "氢途", "匿名企业"),
        (("氢",), "氢途", "氢途"),  # a 1-character name cannot be cut without cutting the text
        ((None, "", "  "), "氢途", "氢途"),
        (HQ, "", ""),
    ],
)
def test_redact(names, text, expected):
    assert redact(text, name_variants(*names)) == expected


@pytest.mark.parametrize(
    "names, present, absent",
    [
        (
            HQ,
            {"氢途", "氢途科技", "嘉善氢途", "hydroway", "hydrowaytech", "hydrowaytechnology"},
            {"科技", "嘉善", "jiashan"},
        ),
        (HC, {"华辰", "华辰股份", "华辰科技", "华辰新材料", "嘉善华辰", "浙江华辰"}, {"新材料", "股份", "浙江省"}),
        (("Costco Wholesale Corporation",), {"costcowholesale"}, {"cost", "co", "corporation"}),
        (("浙江智能装备有限公司",), {"浙江智能装备有限公司"}, {"智能装备", "浙江", "智能"}),
    ],
)
def test_name_variants(names, present, absent):
    variants = name_variants(*names)
    assert present <= variants and not absent & variants
    assert all(len(v) >= 2 for v in variants)


def test_a_placeholder_that_shares_a_character_with_the_name_is_not_used():
    variants = name_variants("企业家科技有限公司")
    assert placeholder_for(variants) != PLACEHOLDER
    # With 匿名企业 the text would read 匿名企业家: the name again.
    assert "企业家" not in fold(redact("企业家家的需求", variants))


def test_the_name_is_cut_where_the_text_writes_it_with_combining_marks():
    assert redact("Cafe\u0301 Noir team", name_variants("Café Noir")) == "匿名企业 team"


_NAME_CHARS = st.sampled_from(list("氢途华辰嘉善浙江科技有限公司股份集团企业匿名AaBbＡｂ １2é\u0301\u3000ſßﬁ"))
_TEXT_CHARS = st.one_of(_NAME_CHARS, st.characters(codec="utf-8", exclude_categories=["Cs"]))


@settings(max_examples=300, deadline=None)
@given(
    names=st.lists(st.text(_NAME_CHARS, min_size=0, max_size=12), min_size=1, max_size=3),
    pieces=st.lists(st.text(_TEXT_CHARS, max_size=8), max_size=6),
    spacer=st.sampled_from(["", " ", "\u3000", "\n"]),
)
@example(names=["嘉善氢途科技有限公司"], pieces=["氢", "途", "科技"], spacer=" ")
@example(names=["企业家"], pieces=["企业家", "家"], spacer="")
@example(names=["ﬁrm co"], pieces=["FIRM", "co"], spacer=" ")
def test_after_redaction_no_variant_of_the_name_is_left(names, pieces, spacer):
    variants = name_variants(*names)
    # The text: the names themselves, respelled (case, width, spacing), among other text.
    respelled = [spacer.join(n.upper() if i % 2 else unicodedata.normalize("NFKD", n)) for i, n in enumerate(names)]
    text = spacer.join(p for pair in zip(pieces, respelled * len(pieces), strict=False) for p in pair) + "".join(pieces)
    redacted = redact(text, variants)
    assert redacted is not None
    assert not [v for v in variants if v in _norm(redacted)], (text, redacted)
    for name in names:
        if len(_norm(name)) >= 2:
            assert _norm(name) not in _norm(redacted)


def test_the_placeholder_is_the_boards_name_for_a_hidden_firm():
    from warehouse.board import ANONYMOUS_FIRM

    assert PLACEHOLDER == ANONYMOUS_FIRM
