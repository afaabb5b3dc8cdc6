"""The summary figure under the README's headline table: every approach on each domain's real dataset."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # written to a file by `make bench`, never shown: no display needed

import matplotlib.pyplot as plt  # noqa: E402

from finetune_cookbook.core.label_curve import budget_of, has_curve  # noqa: E402
from finetune_cookbook.headline import (APPROACH_NAMES, FINE_TUNED, METRIC_NAMES, SETTING_FIELDS,  # noqa: E402
                                        Domain, _point_name, curve_points, curve_records,
                                        labels_saved_cell)


OTHERS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:cyan", "tab:olive", "tab:pink")


def _setting(records: list[dict]) -> str | None:
    """The field that tells the records of one approach apart (a label budget, a k), if any."""
    for name in SETTING_FIELDS:
        if len({r.get(name, "absent") for r in records}) > 1:
            return name
    return None


def _panel(ax, records: list[dict], domain: Domain) -> None:
    metric = domain.metrics[0]
    setting = _setting(records)
    approaches = list(dict.fromkeys(r["approach"] for r in records))
    floors = [t["at_least"] for t in domain.targets if "at_least" in t and t.get("metric") == metric
              and t.get("approach", FINE_TUNED) == FINE_TUNED]
    if setting is None:
        values = [next(r for r in records if r["approach"] == a) for a in approaches]
        colours = ["tab:red" if a == FINE_TUNED else "tab:grey" for a in approaches]
        ax.barh([APPROACH_NAMES.get(a, a) for a in approaches], [r["metrics"].get(metric, 0) for r in values],
                xerr=[r.get("metrics_std", {}).get(metric, 0) for r in values], color=colours)
        ax.set_xlabel(METRIC_NAMES.get(metric, metric))
        low = min(r["metrics"].get(metric, 0) for r in values)
        ax.set_xlim(max(0.0, low - 0.15), None)
        for floor in floors:
            ax.axvline(floor, ls="--", color="black", lw=1, label=f"target {floor}")
    else:
        points = sorted({r.get(setting) for r in records}, key=lambda v: (v is None, v if v is not None else 0))
        others = iter(OTHERS * 2)
        for approach in approaches:
            by_point = {r.get(setting): r for r in records if r["approach"] == approach}
            xs = [i for i, p in enumerate(points) if p in by_point]
            ys = [by_point[points[i]]["metrics"].get(metric) for i in xs]
            ax.plot(xs, ys, marker="o", lw=2.5 if approach == FINE_TUNED else 1,
                    color="tab:red" if approach == FINE_TUNED else next(others), label=APPROACH_NAMES.get(approach, approach))
        ax.set_xticks(range(len(points)), [_point_name({setting: p}) for p in points], rotation=30, ha="right",
                      fontsize=8)
        ax.set_ylabel(METRIC_NAMES.get(metric, metric))
        for floor in floors:
            ax.axhline(floor, ls="--", color="black", lw=1, label=f"target {floor}")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    ax.set_title(f"{domain.title}\n{domain.dataset_title}", fontsize=10)


def summary_figure(results: list[dict], domains: list[Domain]):
    """One panel per domain: the headline metric of every approach, the fine-tuned model in red, and the target
    where it is a number; spread bars where the records hold a standard deviation over seeds."""
    columns = min(3, max(1, len(domains)))
    rows = -(-len(domains) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.9 * rows), squeeze=False)
    for ax in axes.flat[len(domains):]:
        ax.axis("off")
    for ax, domain in zip(axes.flat, domains):
        records = [r for r in results if r["domain"] == domain.name and r["dataset"] == domain.dataset]
        if not any("label_budget" in point for point in domain.points):  # the curve has a figure of its own
            records = [r for r in records if r.get("label_budget") is None]
        if records:
            _panel(ax, records, domain)
        else:
            ax.set_title(f"{domain.title}: no records yet", fontsize=10)
            ax.axis("off")
    fig.tight_layout()
    return fig


def domain_curve(results: list[dict], domain: Domain) -> list[dict]:
    """The records of the domain's curve over labels, at its first point (a k): label budgets (a record without
    one used every label), or else examples per intent; empty where the domain has none yet."""
    records = curve_records(results, domain, curve_points(domain)[0])
    if has_curve(records):
        return [{**r, "label_budget": budget} for r in records if (budget := budget_of(r)) is not None]
    records = [r for r in results if r["domain"] == domain.name and r["dataset"] == domain.dataset]
    return records if any(r.get("examples_per_intent") is not None for r in records) else []


def label_curves_figure(results: list[dict], domains: list[Domain]):
    """The domains' label-efficiency curves side by side: each approach's headline metric against the labels it
    was trained on, the fine-tuned model in red; the title says how many labels fine-tuning saves."""
    curves = [(domain, records) for domain in domains if (records := domain_curve(results, domain))]
    columns = min(3, max(1, len(curves)))
    rows = max(1, -(-len(curves) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.8 * columns, 4.1 * rows), squeeze=False)
    for ax in axes.flat[len(curves):]:
        ax.axis("off")
    for ax, (domain, records) in zip(axes.flat, curves):
        _panel(ax, [r for r in records if not r["approach"].endswith("_naive")], domain)
        shown = curve_points(domain)[0]
        where = _point_name(shown)
        saved = labels_saved_cell(results, domain, [shown]).removeprefix(f"{where}: " if where else "")
        ax.set_title(f"{domain.title}, {domain.dataset_title}{f' ({where})' if where else ''}\n"
                     f"labels saved: {saved}", fontsize=9, wrap=True)
    fig.tight_layout()
    return fig
