"""Probabilistic record linkage with Splink on DuckDB (the warehouse's own engine).

Splink writes its own SQL; what is ours is here, in the gateway: the blocking rules (pairs that
share a title prefix, an owner or a patent key — near-linear, never all pairs), the comparisons
(title, text, owner, field, date, price) and the SQL conditions of their levels. It runs on a
private in-memory DuckDB connection over the features the caller computed
(`matching.entity.entity_features`), so the warehouse file is never held open while it trains.

    model = train(features)                       # m/u by random sampling and EM, as a dict
    links = predict(features, model, threshold)   # [(left_id, right_id, probability)]
    links = predict(features, model, threshold, changed={...})  # only pairs touching `changed`
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

import duckdb
import pyarrow as pa
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

_FEATURES = pa.schema(
    [
        ("unique_id", pa.string()),
        ("title_core", pa.string()),
        ("title_prefix", pa.string()),
        ("title_marks", pa.string()),
        ("text", pa.list_(pa.uint32())),
        ("text_head", pa.string()),
        ("owner", pa.string()),
        ("field", pa.string()),
        ("field_group", pa.string()),
        ("published", pa.string()),
        ("price", pa.float64()),
        ("patent_key", pa.string()),
        ("changed", pa.bool_()),
    ]
)
_OVERLAP = "len(list_intersect(text_l, text_r)) / least(len(text_l), len(text_r))"
# Pairs to score: copies of one listing share the start of their title, or an owner, or a key.
_BLOCKS = ("title_prefix", "owner", "patent_key")

logging.getLogger("splink").setLevel(logging.ERROR)  # its notes on untrained levels are expected


def _settings() -> SettingsCreator:
    # The title's m is fixed, not learnt: texts here are often templates shared by different
    # listings (one breeder's varieties 兰天33号, 34号, 35号 …), so EM on any block that does not
    # hold the title fixed learns "same subject" instead of "same listing". A title that differs,
    # however little, names another variety, material or method far more often than the same one
    # reworded (热压/无压烧结), and such pairs share most of their text: evidence against.
    title = cl.CustomComparison(
        output_column_name="title",
        comparison_levels=[
            cll.NullLevel("title_core"),
            cll.ExactMatchLevel("title_core").configure(m_probability=0.9, fix_m_probability=True),
            cll.CustomLevel(
                "(starts_with(title_core_l, title_core_r) OR starts_with(title_core_r, title_core_l))"
                " AND abs(length(title_core_l) - length(title_core_r)) <= 2",
                "one title cut short",
            ).configure(m_probability=0.03, fix_m_probability=True),
            cll.JaroWinklerLevel("title_core", 0.9).configure(
                m_probability=0.02, u_probability=0.2, fix_m_probability=True, fix_u_probability=True
            ),
            cll.ElseLevel().configure(m_probability=0.05, fix_m_probability=True),
        ],
    )
    marks = cl.CustomComparison(
        output_column_name="title_marks",
        comparison_levels=[
            cll.CustomLevel("title_marks_l = '' AND title_marks_r = ''", "no numbers in either").configure(
                is_null_level=True
            ),
            cll.ExactMatchLevel("title_marks"),
            cll.ElseLevel(),
        ],
    )
    text = cl.CustomComparison(
        output_column_name="text",
        comparison_levels=[
            cll.NullLevel("text"),
            cll.CustomLevel(f"{_OVERLAP} >= 0.9", "text overlap >= 0.9"),
            cll.CustomLevel(f"{_OVERLAP} >= 0.6", "text overlap >= 0.6"),
            cll.CustomLevel(f"{_OVERLAP} >= 0.3", "text overlap >= 0.3"),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            title,
            marks,
            text,
            cl.ExactMatch("owner"),
            cl.CustomComparison(
                output_column_name="field",
                comparison_levels=[
                    cll.NullLevel("field"),
                    cll.ExactMatchLevel("field"),
                    cll.ExactMatchLevel("field_group"),
                    cll.ElseLevel(),
                ],
            ),
            cl.ExactMatch("published"),
            cl.ExactMatch("price"),
            cl.ExactMatch("patent_key"),
        ],
        blocking_rules_to_generate_predictions=[block_on(c) for c in _BLOCKS],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _table(features: Sequence[dict[str, Any]], changed: Collection[str] | None) -> pa.Table:
    rows = [{**f, "changed": changed is None or f["unique_id"] in changed} for f in features]
    return pa.Table.from_pylist(rows, schema=_FEATURES)


def _linker(con: duckdb.DuckDBPyConnection, settings: SettingsCreator | dict[str, Any]) -> Linker:
    return Linker("entity_features", settings, DuckDBAPI(connection=con))


def train(features: Sequence[dict[str, Any]], *, seed: int = 17) -> dict[str, Any]:
    """The model (Splink's settings with m and u) estimated on these listings: u from random
    pairs, m by expectation maximisation on pairs with the same title (which teaches text,
    numbers, owner, field …; the title's own m is fixed, see `_settings`)."""
    con = duckdb.connect(":memory:")
    try:
        con.register("entity_input", _table(features, None))
        con.execute("CREATE TABLE entity_features AS SELECT * FROM entity_input")
        linker = _linker(con, _settings())
        linker.training.estimate_probability_two_random_records_match(
            [block_on("title_core"), block_on("patent_key")], recall=0.8
        )
        # u from random pairs: the text comparison costs a list intersection per pair, so the
        # sample is kept to what the rare levels need (a full pass at 1M must stay in minutes).
        linker.training.estimate_u_using_random_sampling(max_pairs=min(2e5, 20.0 * len(features) + 1e4), seed=seed)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("title_core"))
        return linker.misc.save_model_to_json()
    finally:
        con.close()


def predict(
    features: Sequence[dict[str, Any]],
    model: dict[str, Any],
    threshold: float,
    changed: Collection[str] | None = None,
) -> list[tuple[str, str, float]]:
    """Pairs the model gives at least `threshold` match probability, (left < right); with
    `changed`, only pairs with at least one changed listing (the others' links are kept)."""
    con = duckdb.connect(":memory:")
    try:
        con.register("entity_input", _table(features, changed))
        con.execute("CREATE TABLE entity_features AS SELECT * FROM entity_input")
        settings = dict(model)
        if changed is not None:
            settings["blocking_rules_to_generate_predictions"] = [
                {"blocking_rule": f"l.{c} = r.{c} AND (l.changed OR r.changed)"} for c in _BLOCKS
            ]
        linker = _linker(con, settings)
        result = linker.inference.predict(threshold_match_probability=threshold)
        rows = con.execute(
            f"SELECT unique_id_l, unique_id_r, match_probability FROM {result.physical_name}"  # noqa: S608 - Splink's table
        ).fetchall()
    finally:
        con.close()
    best: dict[tuple[str, str], float] = {}
    for a, b, p in rows:
        key = (min(a, b), max(a, b))
        best[key] = max(best.get(key, 0.0), float(p))
    return [(a, b, p) for (a, b), p in sorted(best.items())]
