"""Every notebook in notebooks/ runs headless with papermill in SMOKE mode and records its metrics."""

import json
import re

import pytest
from conftest import ROOT, smoke_run

from finetune_cookbook.core.records import read_metrics
from finetune_cookbook.exercises import read_answers
from finetune_cookbook.notebooks import notebook_paths

pytestmark = pytest.mark.notebook

NOTEBOOKS = notebook_paths(ROOT / "notebooks")
REQUIRED_SECTIONS = ("Setup", "Parameters", "Data", "Baselines", "Fine-tune", "Evaluate", "Optimise", "Save", "Next steps")


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["01_review_sentiment.ipynb"]


MACHINE_OR_DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b|\b(Xeon|EPYC|AMX|AVX[-0-9]*|Intel|AMD|Ryzen|Apple M\d)\b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_follows_the_template(path):
    notebook = json.loads(path.read_text())
    cells = notebook["cells"]
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert notebook["metadata"]["language_info"]["name"] == "python"
    tagged = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    parameters = "".join(tagged[0]["source"])
    for name in ("SMOKE", "OUTPUT_DIR", "MODEL_NAME", "EPOCHS", "DATA_SOURCE"):
        assert f"{name} =" in parameters
    assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code"), "commit notebooks without outputs"
    ids = [c.get("id") for c in cells]  # nbformat 4.5 requires one per cell; a hand-inserted cell can lack it
    assert None not in ids and len(set(ids)) == len(ids), "every cell needs its own id (nbformat.validator.normalize)"
    headings = [line for c in cells if c["cell_type"] == "markdown"
                for line in "".join(c["source"]).splitlines() if line.startswith("## ")]
    for section in REQUIRED_SECTIONS:
        assert any(section in heading for heading in headings), f"{path.name} lacks a '## ... {section}' heading"
    assert "record_metrics(" in "".join(cells[-1]["source"]), "the last cell records the metrics"
    # measured times, with their machines and dates, live in docs/notebook_times.md: the story holds on any machine
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            found = MACHINE_OR_DATE.search("".join(cell["source"]))
            assert found is None, f"{path.name} cell {index} names {found.group(0)!r}: move it to the docs"


# Per notebook: the approaches it must compare, its metrics, and a floor that learning from the data must clear
# even in SMOKE mode (recorded behaviour, not a quality target: that is `make bench`).
EXPECTED = {
    "01_review_sentiment": {
        "approaches": {"fine_tuned", "tfidf_logreg", "frozen_embeddings_logreg", "fine_tuned_searched"},
        "metrics": ("accuracy", "macro_f1"),
        # beating the majority class's macro-F1 (1/3 of its F1) on a tiny sample
        "floor": ("tfidf_logreg", "macro_f1", 0.4),
    },
    "02_tumor_image_classification": {
        "approaches": {"scratch", "frozen", "fine_tuned", "fine_tuned_searched"},
        "metrics": ("accuracy", "roc_auc", "sensitivity", "specificity"),
        # ImageNet features separate the synthetic lesions better than a coin toss, even frozen
        "floor": ("frozen", "roc_auc", 0.6),
    },
    "03_fraud_anomaly_detection": {
        "approaches": {"isolation_forest", "pretrained", "scratch", "gbt", "fine_tuned", "gbt_with_pretrained_features"},
        "metrics": ("average_precision", "roc_auc", "precision_at_alert_budget", "recall_at_alert_budget"),
        # the sample's frauds follow patterns the trees pick up from 20% of the labels (a random ranking: ~0.5)
        "floor": ("gbt", "roc_auc", 0.6),
    },
    "04_support_chatbot_intent": {
        "approaches": {"tfidf_logreg", "frozen_embeddings_logreg", "fine_tuned", "few_shot", "fine_tuned_searched",
                       "fine_tuned@5", "few_shot@5", "scratch@5"},
        "metrics": ("accuracy", "macro_f1"),
        # the frozen encoder tells 14 intents apart far better than chance (0.07), even on a smoke run
        "floor": ("frozen_embeddings_logreg", "accuracy", 0.5),
    },
    "05_marketing_segmentation": {
        "approaches": {"kmeans_raw", "kmeans_rfm", "pretrained", "scratch", "fine_tuned", "fine_tuned@3",
                       "fine_tuned@8"},
        "metrics": ("best_segment_share", "ari"),
        # the sample's past campaign acceptances alone make a segment that responds above the average
        "floor": ("kmeans_raw", "lift", 1.2),
    },
}


# Per notebook and exercise: what its solution must have found (the cells tagged `solution` run in the same SMOKE run
# and record their answers in exercises.json); `make exercises` leaves them out of the learner's copy.
ANSWERS = {
    "01_review_sentiment": {
        1: ("macro_f1_spread", "lead_by_seed", "lead_always_above_spread"), 2: ("recall_drop", "drops_most"),
        3: ("wrong", "confidence_when_wrong"), 4: ("trials", "validation_gain", "test_gain"),
    },
    "02_tumor_image_classification": {
        1: ("test_roc_auc", "roc_auc_lost_with_one_epoch", "loses_more"),
        2: ("malignant_in_validation", "by_target", "same_threshold_at_099_and_09"),
        3: ("heat_in_centre_over_area", "images_with_heat_off_centre"), 4: ("ranking_by_seed", "ranking_holds"),
    },
    "03_fraud_anomaly_detection": {
        1: ("overlap",), 2: ("by_budget", "training_frauds", "frauds_in_a_1_percent_budget"),
        3: ("fine_tuned_by_cost_of_missed_fraud",), 4: ("by_alert_share",),
    },
    "04_support_chatbot_intent": {
        1: ("handed_over", "of", "highest_confidence"),
        2: ("threshold_at_ten_to_one", "chosen_on_validation"),
        3: ("tfidf_accuracy_all_data", "fine_tuned_by_examples", "examples_needed"),
        4: ("pair", "queries", "bot_intents", "both_right"),
    },
    "05_marketing_segmentation": {
        1: ("lift_by_k", "best_segment_share", "segments_below_floor"), 2: ("names_here", "names_other_seed", "same_name"),
        3: ("by_budget", "gain_shrinks"), 4: ("sensitive_features", "segments_set_apart_by_them"),
    },
}


def check_answers(stem: str, answers: dict) -> None:
    """Every exercise's solution ran and found what its exercise asks for."""
    assert set(answers) == {str(n) for n in ANSWERS[stem]}, "a solution did not record its answer"
    for number, keys in ANSWERS[stem].items():
        assert set(keys) <= set(answers[str(number)]), (stem, number)
    found = {int(n): a for n, a in answers.items()}
    if stem == "01_review_sentiment":
        assert set(found[1]["lead_by_seed"]) == {"42", "1", "2"}
        assert found[2]["drops_most"] in (None, *found[2]["recall_drop"])
    if stem == "02_tumor_image_classification":
        assert found[2]["malignant_in_validation"] > 0
        assert set(found[2]["by_target"]) == {"0.99", "0.9", "0.8", "0.6"}
        assert len(found[4]["ranking_by_seed"]) == 3
    if stem == "03_fraud_anomaly_detection":
        assert set(found[1]["overlap"]) == {"isolation_forest", "fine_tuned"}
        assert set(found[3]["fine_tuned_by_cost_of_missed_fraud"]) == {"500", "10000"}
        cheap, dear = (found[3]["fine_tuned_by_cost_of_missed_fraud"][c]["threshold"] for c in ("500", "10000"))
        assert dear <= cheap  # a dearer miss never raises the threshold
    if stem == "04_support_chatbot_intent":
        assert found[1]["of"] == 4 and 0 <= found[1]["handed_over"] <= 4
        assert len(found[4]["pair"]) == 2
    if stem == "05_marketing_segmentation":
        assert set(found[3]["by_budget"]) == {"0.05", "0.3"}


EXPORTED = {"01_review_sentiment", "02_tumor_image_classification", "03_fraud_anomaly_detection",
            "04_support_chatbot_intent", "05_marketing_segmentation"}


def test_every_notebook_has_expectations():
    assert {p.stem for p in NOTEBOOKS} == set(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_smoke_mode(path, tmp_path_factory):
    expected = EXPECTED[path.stem]
    output_dir = smoke_run(path, NOTEBOOKS, tmp_path_factory)  # run once; the site test shows the same run
    assert (output_dir / path.name).is_file()
    record = read_metrics(output_dir)
    assert record["name"] == path.stem
    assert record["smoke"] is True
    approaches = record["approaches"]
    assert expected["approaches"] <= set(approaches)
    for name, scores in approaches.items():
        for metric in expected["metrics"]:
            assert 0.0 <= scores[metric] <= 1.0, (name, metric)
    approach, metric, floor = expected["floor"]
    assert approaches[approach][metric] > floor
    assert record["reload_disagreements"] <= max(1, 0.02 * record["test_rows"])
    assert (output_dir / "model" / "model.safetensors").is_file()
    check_answers(path.stem, read_answers(output_dir))
    if path.stem in EXPORTED:  # section 8 exports the model and answers a request through the service
        assert record["export_parity"] <= 1e-4
        assert (output_dir / "export" / "model.onnx").is_file()
    if path.stem in LABEL_CURVES:  # the label-efficiency curve: two budgets in SMOKE mode, every approach at each
        curve = record["label_curve"]
        assert {row["label_budget"] for row in curve} == {0.5, 1.0}
        for budget in (0.5, 1.0):
            assert {row["approach"] for row in curve if row["label_budget"] == budget} >= LABEL_CURVES[path.stem]
        assert record["labels_saved"] is None or record["labels_saved"] >= 1.0


LABEL_CURVES = {"01_review_sentiment": {"tfidf_logreg", "scratch", "frozen_embeddings_logreg", "fine_tuned"},
                "02_tumor_image_classification": {"pixels_logreg", "scratch", "frozen", "fine_tuned"},
                "05_marketing_segmentation": {"kmeans_raw", "pretrained", "scratch", "fine_tuned"}}
