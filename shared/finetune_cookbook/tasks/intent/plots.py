"""The intent task's figures: when to hand over to a person, and accuracy by examples per intent."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd


def answer_curve(curve: pd.DataFrame, chosen_threshold: float, title: str = "When to hand over"):
    """In-scope accuracy against out-of-scope recall as the threshold rises, with the chosen operating point."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(curve["oos_recall"], curve["in_scope_accuracy"], color="tab:blue")
    point = curve.iloc[(curve["threshold"] - chosen_threshold).abs().argmin()]
    ax.plot(point["oos_recall"], point["in_scope_accuracy"], "o", color="tab:red",
            label=f"chosen threshold {chosen_threshold:.2f}")
    ax.set_xlabel("out-of-scope recall (unknown messages handed over)")
    ax.set_ylabel("in-scope accuracy (answered, and right)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


def accuracy_by_examples(results, all_label: str = "all"):
    """Test accuracy against training examples per class, one line per approach (`results`: ApproachResults
    with `setting["examples_per_intent"]`, None meaning all)."""
    points: dict[str, list[tuple]] = {}
    for r in results:
        count = r.setting.get("examples_per_intent")
        points.setdefault(r.approach, []).append((count, r.metrics["accuracy"]))
    counts = sorted({c for line in points.values() for c, _ in line if c is not None})
    position = {c: i for i, c in enumerate(counts)}
    position[None] = len(counts)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for approach, line in points.items():
        line = sorted(line, key=lambda p: position[p[0]])
        ax.plot([position[c] for c, _ in line], [a for _, a in line], "o-", label=approach)
    ax.set_xticks(range(len(counts) + 1), [str(c) for c in counts] + [all_label])
    ax.set_xlabel("training examples per intent")
    ax.set_ylabel("test accuracy")
    ax.set_title("Accuracy against examples per intent")
    ax.legend()
    fig.tight_layout()
    return fig
