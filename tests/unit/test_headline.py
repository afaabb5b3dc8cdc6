"""The README's headline table and figure come from benchmarks/results.json and each recipe's targets.yaml."""

import json
import re

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

from finetune_cookbook.headline import (Domain, check, current_block, headline_block, read_domains, replace_block,
                                        write_readme)
from finetune_cookbook.headline_plot import summary_figure

README = ROOT / "README.md"
RESULTS = json.loads((ROOT / "benchmarks" / "results.json").read_text())


def test_readme_block_is_what_the_records_make():
    domains = read_domains(ROOT / "recipes", ROOT / "notebooks")
    assert [d.name for d in domains] == ["review_sentiment", "tumor_image_classification", "fraud_anomaly_detection",
                                         "support_chatbot_intent", "marketing_segmentation"]
    assert current_block(README.read_text()) == headline_block(RESULTS, domains), \
        "run `cookbook headline` (make bench does) and commit README.md and benchmarks/summary.png"


def test_readme_is_a_landing_page():
    text = README.read_text()
    words = re.findall(r"\S+", re.sub(r"<!--.*?-->", "", text, flags=re.S))
    assert len(words) <= 1200
    assert "make test" in text and "make run" in text  # CI's .ci/run calls `make test`
    assert "edit its `data` section" in text
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        assert (ROOT / target).exists(), f"README links to {target}, which is not there"


def record(approach, value, **setting):
    return {"domain": "d", "dataset": "set", "approach": approach, "metrics": {"m": value}, "train_seconds": 10.0,
            "machine": "CPU; Python; training precision bf16", **setting}


def test_targets_are_judged_on_every_point_they_name():
    domain = Domain("d", "D", "set", "Set", ["m"], points=[{"k": 3}],
                    targets=[{"text": "beat", "metric": "m", "beats": True, "points": [{"k": 3}, {"k": 4}]},
                             {"text": "floor", "metric": "m", "at_least": 0.5},
                             {"text": "fast", "train_seconds_under": 5}])
    results = [record("fine_tuned", 0.6, k=3), record("other", 0.4, k=3),
               record("fine_tuned", 0.3, k=4), record("other", 0.7, k=4)]
    assert check(domain.targets[0], results, domain) == ["m at k = 4: 0.300 vs 0.700 (other)"]
    assert check(domain.targets[1], results, domain) == []
    assert check(domain.targets[2], results, domain) == ["training took 10 s at k = 3"]
    block = headline_block(results, [domain])
    assert "| D | Set | m (k = 3) | **0.600** | 0.400 (other) | not measured yet | beat; floor; fast | **missed**:" in block
    missing = Domain("d", "D", "absent", "Absent", ["m"], targets=[{"text": "t", "metric": "m", "at_least": 0.1}])
    assert check(missing.targets[0], results, missing) == ["no fine-tuned record"]
    # a target against one named approach, at label budgets
    named = {"text": "t", "metric": "m", "beats": "other", "points": [{"k": 3, "label_budget": 0.1},
                                                                       {"k": 4, "label_budget": 0.1}]}
    at_budget = [record("fine_tuned", 0.6, k=3, label_budget=0.1), record("other", 0.5, k=3, label_budget=0.1),
                 record("best", 0.9, k=3, label_budget=0.1), record("fine_tuned", 0.6, k=4, label_budget=0.1)]
    assert check(named, at_budget, domain) == ["no other record at k = 4, 10% labels"]
    assert check(named, [], domain) == ["no fine-tuned records yet at its 2 points"]


def test_write_headline_rewrites_only_the_block_and_draws_the_figure(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- results:start -->\nstale\n<!-- results:end -->\nafter\n")
    figure = tmp_path / "summary.png"
    results, domains = write_readme(ROOT / "benchmarks" / "results.json", readme, figure, ROOT / "recipes",
                                    ROOT / "notebooks")
    summary_figure(results, domains).savefig(figure)
    text = readme.read_text()
    assert text.startswith("before\n<!-- results:start -->") and text.endswith("<!-- results:end -->\nafter\n")
    assert "stale" not in text and "| Tumor images |" in text
    pixels = np.asarray(Image.open(figure).convert("L"), dtype=float)
    assert pixels.std() > 10  # drawn, not blank
    with pytest.raises(Exception, match="markers"):
        replace_block("no markers", "x")


def _curve_records(fine_tuned: dict, scratch: dict) -> list[dict]:
    records = []
    for approach, curve in (("fine_tuned", fine_tuned), ("scratch", scratch)):
        for budget, value in curve.items():
            record = {"domain": "d", "dataset": "set", "approach": approach, "metrics": {"m": value},
                      "machine": "test machine", "train_seconds": 1.0}
            if budget != 1.0:  # every label: no budget, as the benchmark writes it
                record["label_budget"] = budget
            records.append(record)
    return records


def test_the_best_other_approaches_are_named_in_the_order_of_their_values():
    domain = Domain("d", "D", "set", "Set", ["m"], points=[{"k": 3}, {"k": 4}])
    results = [record("fine_tuned", 0.6, k=3), record("zeta", 0.5, k=3), record("alpha", 0.4, k=3),
               record("fine_tuned", 0.6, k=4), record("alpha", 0.7, k=4), record("zeta", 0.1, k=4)]
    assert "| 0.500 / 0.700 (zeta, alpha) |" in headline_block(results, [domain])


def test_labels_saved_are_read_from_the_curve_and_drawn_beside_the_others():
    from finetune_cookbook.headline import labels_saved_cell
    from finetune_cookbook.headline_plot import label_curves_figure

    domain = Domain(name="d", title="D", dataset="set", dataset_title="Set", metrics=["m"])
    records = _curve_records({0.1: 0.5, 0.25: 0.7, 0.5: 0.8, 1.0: 0.9}, {0.1: 0.3, 0.25: 0.4, 0.5: 0.5, 1.0: 0.6})
    assert labels_saved_cell(records, domain) == "5.7x (18% of the labels, interpolated)"
    behind = _curve_records({0.1: 0.5, 1.0: 0.55}, {0.1: 0.3, 1.0: 0.6})
    assert labels_saved_cell(behind, domain) == "none: below scratch on every label at each budget up to 100%"
    assert labels_saved_cell([r for r in records if "label_budget" not in r], domain) == "not measured yet"
    figure = label_curves_figure(records, [domain])
    axis = figure.axes[0]
    assert "5.7x" in axis.get_title() and len(axis.get_lines()) == 2
    assert [t.get_text() for t in axis.get_xticklabels()] == ["10% labels", "25% labels", "50% labels", "100% labels"]
    # the summary figure keeps showing every label's bars; the curve has its own figure
    summary = summary_figure(records, [domain]).axes[0]
    assert len(summary.patches) == 2


def test_a_curve_over_examples_per_intent_is_read_through_its_share_of_the_labels():
    from finetune_cookbook.headline import labels_saved_cell
    from finetune_cookbook.headline_plot import label_curves_figure

    domain = Domain(name="d", title="D", dataset="set", dataset_title="Set", metrics=["m"],
                    points=[{"examples_per_intent": None}])
    records = []
    for approach, curve in (("fine_tuned", {5: 0.70, 20: 0.88, None: 0.93}), ("scratch", {5: 0.20, 20: 0.50, None: 0.85})):
        for count, value in curve.items():
            records.append({"domain": "d", "dataset": "set", "approach": approach, "metrics": {"m": value},
                            "machine": "test machine", "train_seconds": 1.0, "examples_per_intent": count,
                            "label_share": {5: 0.05, 20: 0.2, None: 1.0}[count]})
    # 0.85 lies 15/18 of the way from 0.70 (5%) to 0.88 (20%): 17.5% of the labels
    assert labels_saved_cell(records, domain) == "5.7x (18% of the labels, interpolated)"
    older = [{k: v for k, v in r.items() if k != "label_share"} for r in records]  # written before shares were kept
    assert labels_saved_cell(older, domain) == "not measured yet"
    axis = label_curves_figure(records, [domain]).axes[0]
    assert "5.7x" in axis.get_title()
    assert [t.get_text() for t in axis.get_xticklabels()] == ["5 per intent", "20 per intent", "all queries"]


def test_a_count_per_intent_recorded_without_its_share_is_left_off_the_curve():
    from finetune_cookbook.core.label_curve import budget_of, curve_table, has_curve

    old = {"approach": "scratch", "examples_per_intent": 10, "metrics": {"m": 0.9}}
    every = {"approach": "scratch", "examples_per_intent": None, "metrics": {"m": 0.8}}
    assert budget_of(old) is None and budget_of(every) == 1.0
    assert not has_curve([old, every])
    assert curve_table([old, every], "m")["label_budget"].tolist() == [1.0]  # not a second "every label" point
