"""The index's vectorised pieces agree with the reference implementations they replace."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.engine import Listing
from matching.errors import IndexFormatChanged
from matching.index import (
    FORMAT,
    ListingIndex,
    Postings,
    bigram_key,
    bigram_postings,
    build_index,
    character_counts,
)
from matching.text import char_bigrams

pytestmark = pytest.mark.unit

DOCUMENTS = [
    ["锂电池", "隔膜", "涂覆", "隔膜"],
    ["电池", "管理", "系统", "bms"],
    ["光伏", "组件", "清洗", "机器人", "光伏"],
    ["隔膜", "陶瓷", "涂覆", "锂电池", "锂电池", "锂电池"],
    [],
]


def _postings(documents, **bm25):
    vocabulary = sorted({t for d in documents for t in d})
    ids = {t: i for i, t in enumerate(vocabulary)}
    term_ids = np.array([ids[t] for d in documents for t in d], dtype=np.int64)
    doc_ids = np.repeat(np.arange(len(documents)), [len(d) for d in documents])
    return Postings.build(np.array(vocabulary), term_ids, doc_ids, len(documents), **bm25)


@pytest.mark.parametrize("query", [["锂电池"], ["隔膜", "涂覆"], ["bms", "光伏", "电池"], ["陶瓷", "锂电池", "系统"]])
def test_bm25_matrix_scores_like_bm25s(query):
    documents = DOCUMENTS[:4]
    reference = bm25s.BM25()
    reference.index(documents, show_progress=False)
    ours = _postings(documents)
    got = np.zeros(len(documents))
    m = ours.matrix
    for c in ours.lookup(query):
        for p in range(m["indptr"][c], m["indptr"][c + 1]):
            got[m["indices"][p]] += m["data"][p]
    np.testing.assert_allclose(got, reference.get_scores(query)[: len(documents)], rtol=1e-5)


def test_postings_retrieve_ranks_and_masks():
    postings = _postings(DOCUMENTS)
    docs, scores = postings.retrieve([postings.lookup(["锂电池", "隔膜"])], k=3, mask=np.ones(5, dtype=np.float32))
    assert docs[0][:2].tolist() == [0, 3] or docs[0][:2].tolist() == [3, 0]
    assert scores[0][2] == 0.0
    masked = np.array([1, 1, 1, 0, 1], dtype=np.float32)
    docs, scores = postings.retrieve([postings.lookup(["锂电池"])], k=2, mask=masked)
    assert docs[0][0] == 0 and scores[0][1] == 0.0


def test_unknown_terms_look_up_the_empty_column():
    postings = _postings(DOCUMENTS)
    assert postings.lookup(["石墨烯"]) == [len(postings.terms)]
    assert postings.lookup([]) == [len(postings.terms)]
    assert postings.frequencies(["锂电池", "光伏", "隔膜", "石墨烯"]).tolist() == [2, 1, 2, 0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("锂电池隔膜ab1 ，。、\n-鋰"), max_size=30), min_size=1, max_size=8))
def test_bigram_postings_are_char_bigrams_of_each_text(texts):
    keys, documents = bigram_postings(texts)
    expected = [(bigram_key(b), d) for d, text in enumerate(texts) for b in char_bigrams(text)]
    assert list(zip(keys.tolist(), documents.tolist(), strict=True)) == expected


@given(st.lists(st.text(alphabet="槽凹锂电池ab1 ,。", max_size=12), max_size=8))
def test_character_counts_are_how_many_texts_contain_each_character(texts):
    counts = character_counts(texts)
    for character in set("".join(texts)):
        expected = sum(character in t for t in texts) if character.isalnum() else 0
        assert counts[ord(character)] == expected, character


def test_an_index_in_another_format_is_refused(tmp_path):
    index = build_index([Listing("A", "锂电池隔膜涂覆")])
    index.save(tmp_path)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace(f'"format": {FORMAT}', '"format": 1'), encoding="utf-8"
    )
    with pytest.raises(IndexFormatChanged, match="format 1"):
        ListingIndex.load(tmp_path)


def test_common_terms_are_left_out_of_retrieval_but_never_all(monkeypatch):
    monkeypatch.setattr("matching.index.COMMON_FLOOR", 1)
    postings = _postings(DOCUMENTS)  # 5 documents: 锂电池 and 隔膜 in 2, 光伏 in 1
    assert sorted(postings.lookup(["锂电池", "光伏"], max_share=0.3)) == postings.lookup(["光伏"])
    assert (
        postings.lookup(["锂电池", "隔膜"], max_share=0.3) == postings.lookup(["锂电池"])[:1]
        or postings.lookup(["锂电池", "隔膜"], max_share=0.3) == postings.lookup(["隔膜"])[:1]
    )
    assert len(postings.lookup(["锂电池", "隔膜", "光伏"], max_share=1.0)) == 3
    monkeypatch.setattr("matching.index.COMMON_FLOOR", 1_000)  # a small segment prunes nothing
    assert len(postings.lookup(["锂电池", "隔膜", "光伏"], max_share=0.3)) == 3


def test_idf_counts_documents_across_segments():
    index = ListingIndex()
    index.add([Listing("A", "锂电池隔膜"), Listing("B", "锂电池回收")])
    index.add([Listing("C", "光伏组件"), Listing("D", "锂电池梯次利用")])
    common, rare, unknown = index.idf(["锂电池", "光伏", "石墨烯"])
    assert unknown > rare > common > 0
    index.add([Listing("C", "锂电池")])  # C's new copy masks the old one; N stays 4
    assert len(index) == 4


def test_a_single_character_is_as_common_as_the_listings_that_contain_it(tmp_path):
    # 槽 is never segmented alone here, but coverage credits it inside 凹槽 / 沟槽 / 槽体, so its
    # rarity must count those listings: three of four, not none.
    listings = [Listing("A", "凹槽结构"), Listing("B", "沟槽加工"), Listing("C", "光伏组件"), Listing("D", "槽体")]
    index = ListingIndex()
    index.add(listings[:2])
    index.add(listings[2:])
    index.save(tmp_path)
    loaded = ListingIndex.load(tmp_path)
    for idx in (index, loaded):
        slot, unseen = idx.idf(["槽", "钛"])
        assert slot == pytest.approx(np.log(1 + (4 - 3 + 0.5) / (3 + 0.5)))
        assert unseen == pytest.approx(np.log(1 + 4.5 / 0.5))


def test_segment_word_table_indexes_what_word_document_says():
    from matching.index import WORD_BM25, WordTable, word_document

    listings = [
        Listing(
            "A",
            "锂电池隔膜涂覆工艺",
            "一种陶瓷涂覆隔膜，所述隔膜耐高温。",
            claims="1. 一种隔膜……",
            keywords=("锂电池", "隔膜"),
        ),
        Listing("B", "光伏组件清洗机器人", "本发明公开了一种光伏组件清洗机器人，BMS与5G通信。"),
        Listing("C", "", ""),
    ]
    fields = [listing.text_fields() for listing in listings]
    table = WordTable.of(fields).postings(len(listings))
    reference = _postings([word_document(f) for f in fields], **WORD_BM25)
    assert table.terms.tolist() == reference.terms.tolist()
    for part in ("data", "indices", "indptr"):
        np.testing.assert_allclose(table.matrix[part], reference.matrix[part], rtol=1e-6)
