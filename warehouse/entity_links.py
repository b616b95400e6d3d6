"""Probabilistic record linkage with Splink on DuckDB (the warehouse's own engine).

Splink writes its own SQL; what is ours is here, in the gateway: the blocking keys (pairs that
share a title prefix, an owner or a patent key; never all pairs), the comparisons (title, text,
owner, field, date, price) and the SQL conditions of their levels. It runs on a private in-memory
DuckDB connection over the features the caller computed (`matching.entity.entity_features`), so
the warehouse file is never held open while it trains.

A block is at most BLOCK_CAP listings, which keeps a pass linear in the listings: a title prefix
or an owner shared by more (电动汽车… in a million patents, 浙江大学) is narrowed to a longer prefix
of the title until its block is small enough (`block_keys_sql`).

    model = train(features)                       # m/u by random sampling and EM, as a dict
    links = predict(features, model, threshold)   # [(left_id, right_id, probability)]
    links = predict(rows, model, threshold, changed={...})  # only pairs touching `changed`
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any, TypeAlias

import duckdb
import pyarrow as pa
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

_FEATURES = pa.schema(
    [
        ("unique_id", pa.string()),
        ("title_core", pa.string()),
        ("title_stem", pa.string()),
        ("title_marks", pa.string()),
        ("text", pa.list_(pa.uint32())),
        ("owner", pa.string()),
        ("field", pa.string()),
        ("field_group", pa.string()),
        ("published", pa.string()),
        ("price", pa.float64()),
        ("patent_key", pa.string()),
    ]
)
_OVERLAP = "len(list_intersect(text_l, text_r)) / least(len(text_l), len(text_r))"
# Pairs to score: copies of one listing share the start of their title, or an owner, or a key.
_BLOCKS = ("title_block", "owner_block", "key_block")
BLOCK_CAP = 30
# From the widest key to the narrowest: each listing gets the widest whose block is small enough.
_TITLE_KEYS = ("left(title_stem, 4)", "left(title_stem, 6)", "left(title_stem, 9)", "title_stem")
_OWNER_KEYS = ("owner", "owner || '|' || left(title_stem, 2)", "owner || '|' || left(title_stem, 4)")


def block_keys_sql(relation: str) -> str:
    """A SELECT of every column of `relation` (entity features, computed by the caller or read
    from entity_features) with its blocking keys `title_block`, `owner_block` and `key_block`
    (a patent key shared by more than $cap listings blocks nothing, see dedup.certain_links); parameter
    $cap: the largest block. Block sizes count every listing of `relation`, so the keys of a
    nightly run are those of the whole warehouse."""

    def narrowest_small(keys: Sequence[str]) -> str:
        cases = " ".join(f"WHEN count(*) OVER (PARTITION BY {k}) <= $cap THEN {k}" for k in keys)
        return f"CASE {cases} END"

    return (
        f"SELECT *, {narrowest_small(_TITLE_KEYS)} AS title_block,"  # noqa: S608 - our own expressions
        f" {narrowest_small(_OWNER_KEYS)} AS owner_block, {narrowest_small(['patent_key'])} AS key_block"
        f" FROM {relation}"
    )


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


Features: TypeAlias = "pa.Table | Sequence[dict[str, Any]]"


def _load(con: duckdb.DuckDBPyConnection, features: Features, changed: Collection[str] | None) -> None:
    """The in-memory table Splink reads: the features, their block keys (computed here over
    them unless the rows carry the warehouse's) and whether each listing changed."""
    table = features if isinstance(features, pa.Table) else pa.Table.from_pylist(list(features), schema=_FEATURES)
    con.register("entity_input", table)
    con.register("changed_ids", pa.table({"unique_id": pa.array(sorted(changed or ()), pa.string())}))
    keyed = "title_block" in table.column_names
    con.execute(
        f"CREATE TABLE entity_features AS SELECT *, {changed is None} OR unique_id IN"  # noqa: S608 - our SQL
        " (SELECT unique_id FROM changed_ids) AS changed"
        f" FROM ({'SELECT * FROM entity_input' if keyed else block_keys_sql('entity_input')})",
        {} if keyed else {"cap": BLOCK_CAP},
    )
    con.unregister("entity_input")


def _linker(con: duckdb.DuckDBPyConnection, settings: SettingsCreator | dict[str, Any]) -> Linker:
    return Linker("entity_features", settings, DuckDBAPI(connection=con))


def train(features: Features, *, seed: int = 17) -> dict[str, Any]:
    """The model (Splink's settings with m and u) estimated on these listings: u from random
    pairs, m by expectation maximisation on pairs with the same title (which teaches text,
    numbers, owner, field …; the title's own m is fixed, see `_settings`)."""
    con = duckdb.connect(":memory:")
    try:
        _load(con, features, None)
        linker = _linker(con, _settings())
        linker.training.estimate_probability_two_random_records_match(
            [block_on("title_core"), block_on("key_block")], recall=0.8
        )
        # u from random pairs: the text comparison costs a list intersection per pair, so the
        # sample is kept to what the rare levels need (a full pass at 1M must stay in minutes).
        linker.training.estimate_u_using_random_sampling(max_pairs=min(2e5, 20.0 * len(features) + 1e4), seed=seed)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("title_core"))
        return linker.misc.save_model_to_json()
    finally:
        con.close()


def predict(
    features: Features,
    model: dict[str, Any],
    threshold: float,
    changed: Collection[str] | None = None,
) -> list[tuple[str, str, float]]:
    """Pairs the model gives at least `threshold` match probability, (left < right). `features`:
    every listing (their block keys are computed here); or, with `changed`, the rows of
    `entity_store.features_in_blocks` (keys and all) and only pairs with at least one changed
    listing are scored (the others' links are kept)."""
    con = duckdb.connect(":memory:")
    try:
        _load(con, features, changed)
        touching = "" if changed is None else " AND (l.changed OR r.changed)"
        # The blocking is this code's, not the saved model's: a model trained before keeps working.
        settings = {
            **model,
            "blocking_rules_to_generate_predictions": [
                {"blocking_rule": f"l.{c} = r.{c}{touching}", "sql_dialect": "duckdb"} for c in _BLOCKS
            ],
        }
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
