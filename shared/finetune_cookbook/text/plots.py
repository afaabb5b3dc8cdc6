"""Figures of text data; each function returns the matplotlib figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def text_lengths(texts: pd.Series, labels: pd.Series, tokenizer=None):
    """Length of the texts per class, in words (or tokens when a tokenizer is given): shows what max_length cuts."""
    lengths = texts.map(lambda t: len(tokenizer(t)["input_ids"]) if tokenizer else len(t.split()))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label in sorted(labels.unique()):
        ax.hist(lengths[labels == label], bins=30, alpha=0.5, label=label)
    ax.set_xlabel("tokens" if tokenizer else "words")
    ax.set_ylabel("texts")
    ax.set_title(f"Text length per class (median {int(np.median(lengths))})")
    ax.legend()
    fig.tight_layout()
    return fig
