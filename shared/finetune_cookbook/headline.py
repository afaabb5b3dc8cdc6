"""The README's headline: one row per domain (the fine-tuned model against the best other approach on the real
dataset, and the domain's targets) and one summary figure, both made from `benchmarks/results.json`.

Each domain states its targets in `recipes/<domain>/targets.yaml`, so a new domain adds a file and edits no code
here. `make bench` calls `cookbook headline` after the benchmark, so the table and the figure cannot drift from
the records; a test checks that the README holds what this module makes from them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.core.label_curve import curve_table, has_curve, labels_saved

START, END = "<!-- results:start -->", "<!-- results:end -->"
FINE_TUNED = "fine_tuned"
NAIVE = "_naive"  # the suffix of a run trained the naive way (bench_naive), for speed only
SETTING_FIELDS = ("examples_per_intent", "label_budget", "k")  # as bench.py keys its records
CURVE_FIELDS = ("label_budget", "examples_per_intent")  # what a curve over labels runs along
METRIC_NAMES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "roc_auc": "ROC-AUC", "average_precision": "AUPRC",
                "lift": "lift", "ari": "ARI"}
APPROACH_NAMES = {"tfidf_logreg": "TF-IDF + LR", "pixels_logreg": "pixels + LR", "frozen_embeddings_logreg": "frozen encoder + LR",
                  "frozen": "frozen backbone", "scratch": "from scratch", "gbt": "trees",
                  "gbt_with_pretrained_features": "trees + pre-trained features", "kmeans_raw": "k-means",
                  "kmeans_rfm": "k-means on RFM", "pretrained": "pre-trained, frozen", "few_shot": "few-shot",
                  "isolation_forest": "Isolation Forest", "fine_tuned": "fine-tuned"}


@dataclass
class Domain:
    name: str
    title: str
    dataset: str
    dataset_title: str
    metrics: list[str]
    points: list[dict] = field(default_factory=lambda: [{}])
    targets: list[dict] = field(default_factory=list)


def read_domains(recipes: str | Path, notebooks: str | Path | None = None) -> list[Domain]:
    """Every `recipes/<domain>/targets.yaml`, in the order of the domains' notebooks (`NN_<domain>.ipynb`)."""
    order = {path.stem.split("_", 1)[-1]: path.stem for path in Path(notebooks).glob("[0-9]*.ipynb")} if notebooks else {}
    domains = []
    for path in sorted(Path(recipes).glob("*/targets.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        try:
            domains.append(Domain(name=path.parent.name, **raw))
        except TypeError as error:
            raise ConfigError(f"{path}: {error}") from error
    return sorted(domains, key=lambda d: (order.get(d.name, "~"), d.name))


def _matches(record: dict, point: dict) -> bool:
    return all(record.get(name) == value for name, value in point.items()) and \
        all(name in point or record.get(name) is None for name in SETTING_FIELDS)


def _records(results: list[dict], domain: Domain, dataset: str, point: dict) -> dict[str, dict]:
    return {r["approach"]: r for r in results
            if r["domain"] == domain.name and r["dataset"] == dataset and _matches(r, point)}


def best_other(records: dict[str, dict], metric: str, approach: str = FINE_TUNED) -> tuple[str, float] | None:
    others = [(name, r["metrics"][metric]) for name, r in records.items()  # a naive twin is the same approach
              if name not in (approach, approach + NAIVE) and r["metrics"].get(metric) is not None]
    return max(others, key=lambda pair: pair[1]) if others else None


def _point_name(point: dict) -> str:
    names = []
    for name, value in point.items():
        if name == "label_budget":
            names.append(f"{value:.0%} labels")
        elif name == "k":
            names.append(f"k = {value}")
        elif name == "examples_per_intent":
            names.append("all queries" if value is None else f"{value} per intent")
    return ", ".join(names)


def check(target: dict, results: list[dict], domain: Domain) -> list[str]:
    """What misses `target`, one short phrase each (empty when it is met)."""
    approach = target.get("approach", FINE_TUNED)
    metrics = target.get("metric", [])
    metrics = [metrics] if isinstance(metrics, str) else metrics
    missed, absent, points = [], 0, 0
    for dataset in target.get("datasets", [domain.dataset]):
        for point in target.get("points", domain.points):
            points += 1
            where = ", ".join(filter(None, [dataset if dataset != domain.dataset else "", _point_name(point)]))
            at = f" at {where}" if where else ""
            records = _records(results, domain, dataset, point)
            if approach not in records:
                missed.append(f"no {APPROACH_NAMES.get(approach, approach)} record{at}")
                absent += 1
                continue
            own = records[approach]
            if "train_seconds_under" in target and own["train_seconds"] >= target["train_seconds_under"]:
                missed.append(f"training took {own['train_seconds']:.0f} s{at}")
            for metric in metrics:
                name, value = METRIC_NAMES.get(metric, metric), own["metrics"].get(metric)
                if "at_least" in target and (value is None or value < target["at_least"]):
                    missed.append(f"{APPROACH_NAMES.get(approach, approach)} {name} {value}{at}")
                beats = target.get("beats")
                if isinstance(beats, str):  # one named approach, not every other
                    rival = (beats, records[beats]["metrics"].get(metric)) if beats in records else None
                    if rival is None or rival[1] is None:
                        missed.append(f"no {APPROACH_NAMES.get(beats, beats)} record{at}")
                        continue
                else:
                    rival = best_other(records, metric, approach) if beats else None
                if rival is not None and (value is None or value <= rival[1]):
                    missed.append(f"{name}{at}: {value:.3f} vs {rival[1]:.3f} ({APPROACH_NAMES.get(rival[0], rival[0])})")
    if absent == points > 1:  # one phrase for a target nothing was measured for yet
        return [f"no {APPROACH_NAMES.get(approach, approach)} records yet at its {points} points"]
    return missed


def _values(results: list[dict], domain: Domain, approach_of) -> tuple[str, list[str]]:
    """Each point's and metric's value, and the approaches they come from, in the values' order."""
    shown, names = [], []
    for point in domain.points:
        records = _records(results, domain, domain.dataset, point)
        for metric in domain.metrics:
            pick = approach_of(records, metric)
            if pick is None:
                shown.append("n/a")
                continue
            name, value = pick
            if name not in names:
                names.append(name)
            shown.append(f"{value:.3f}")
    return " / ".join(shown), names


def curve_points(domain: Domain) -> list[dict]:
    """The domain's points without their label budget or count per intent, once each: where a curve over labels
    is read (a k)."""
    points = []
    for point in domain.points:
        rest = {name: value for name, value in point.items() if name not in CURVE_FIELDS}
        if rest not in points:
            points.append(rest)
    return points or [{}]


def curve_records(results: list[dict], domain: Domain, point: dict | None = None) -> list[dict]:
    """The domain's records over label budgets (or counts per intent) on its headline dataset, at `point` (a k;
    none by default)."""
    point = point or {}
    return [r for r in results if r["domain"] == domain.name and r["dataset"] == domain.dataset
            and all(r.get(name) == point.get(name) for name in SETTING_FIELDS if name not in CURVE_FIELDS)]


def _saving(records: list[dict], metric: str) -> str:
    saved = labels_saved(curve_table(records, metric), metric)
    if saved.reference_score is None:
        return "no from-scratch run on every label"
    if saved.saving is None:
        return f"none: below scratch on every label at each budget up to {saved.budgets[-1]:.0%}"
    how = ", interpolated" if saved.interpolated else ""
    return f"{saved.saving:.1f}x ({saved.matching_budget:.0%} of the labels{how})"


def labels_saved_cell(results: list[dict], domain: Domain, points: list[dict] | None = None) -> str:
    """How many times fewer labels the fine-tuned model needs to match the model from scratch on every label,
    at each of the domain's points (a k; or only `points`) where it has a curve."""
    cells = []
    for point in points or curve_points(domain):
        records = curve_records(results, domain, point)
        if has_curve(records):
            where = _point_name(point)
            cells.append(f"{where}: " * bool(where) + _saving(records, domain.metrics[0]))
    return "; ".join(cells) or "not measured yet"


def headline_row(results: list[dict], domain: Domain) -> str:
    def fine_tuned(records, metric):
        record = records.get(FINE_TUNED)
        value = record["metrics"].get(metric) if record else None
        return None if value is None else (FINE_TUNED, value)

    measure = " / ".join(METRIC_NAMES.get(m, m) for m in domain.metrics)
    where = " / ".join(filter(None, (_point_name(p) for p in domain.points)))
    own, _ = _values(results, domain, fine_tuned)
    rival, names = _values(results, domain, best_other)
    rival += f" ({', '.join(APPROACH_NAMES.get(n, n) for n in names)})" if names else ""
    missed = [phrase for target in domain.targets for phrase in check(target, results, domain)]
    verdict = "**met**" if not missed else "**missed**: " + "; ".join(missed)
    targets = "; ".join(t["text"] for t in domain.targets)
    return (f"| {domain.title} | {domain.dataset_title} | {measure}{f' ({where})' if where else ''} | **{own}** | "
            f"{rival} | {labels_saved_cell(results, domain)} | {targets} | {verdict} |")


def _machine(description: str) -> str:
    """The hardware and the training precision of a record's machine line, without the software versions."""
    parts = [p.strip() for p in description.split(";")]
    return ", ".join([parts[0]] + [p.replace("training precision ", "training in ") for p in parts[1:]
                                   if p.startswith("training precision")])


def headline_block(results: list[dict], domains: list[Domain], figure: str = "benchmarks/summary.png") -> str:
    """The README's text between the markers: the table, the figure, and where the records came from."""
    machines = sorted({_machine(r["machine"]) for r in results if any(r["domain"] == d.name for d in domains)})
    lines = [
        START,
        "<!-- written by `cookbook headline` (make bench) from benchmarks/results.json; do not edit by hand -->",
        "| domain | real dataset | measure | fine-tuned | best other approach | labels saved | target | verdict |",
        "|---|---|---|---|---|---|---|---|",
        *[headline_row(results, d) for d in domains],
        "",
        f"![Every approach on each real dataset, with the targets]({figure})",
        "",
        "Test-split scores from `make bench` (means over the seeds or label subsets named), on "
        + "; ".join(machines) + ". Labels saved: the fine-tuned model matches the same network from scratch trained on every label "
        "with that share of the labels (mean over subsets; read between budgets on a straight line where so marked). "
        "[docs/results.md](docs/results.md) tells how each setting was chosen; "
        "[benchmarks/results.md](benchmarks/results.md) has every record.",
        END,
    ]
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ConfigError(f"the README has no {START} ... {END} markers for the headline table")
    return pattern.sub(lambda _: block, text, count=1)


def current_block(text: str) -> str | None:
    found = re.search(re.escape(START) + ".*?" + re.escape(END), text, re.S)
    return found.group(0) if found else None


def write_readme(results_path: str | Path = "benchmarks/results.json", readme: str | Path = "README.md",
                 figure: str | Path = "benchmarks/summary.png", recipes: str | Path = "recipes",
                 notebooks: str | Path = "notebooks") -> tuple[list[dict], list[Domain]]:
    """Rewrites the README's block from the records; returns the records and the domains, for the figure."""
    results = json.loads(Path(results_path).read_text(encoding="utf-8"))
    domains = read_domains(recipes, notebooks)
    readme, figure = Path(readme), Path(figure)
    shown = figure.relative_to(readme.parent) if figure.is_relative_to(readme.parent) else figure
    block = headline_block(results, domains, shown.as_posix())
    readme.write_text(replace_block(readme.read_text(encoding="utf-8"), block), encoding="utf-8")
    return results, domains
