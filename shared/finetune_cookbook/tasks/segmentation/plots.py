"""Plots of customer segments: a 2-D map, profile bars, the response rate per segment, and metrics over k."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA


def segment_map(points: np.ndarray, labels: np.ndarray, names: list[str], title: str = "", ax=None):
    """The customers on the first two principal components of their points, coloured by segment."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    flat = PCA(n_components=2, random_state=0).fit_transform(points)
    for segment, name in enumerate(names):
        inside = labels == segment
        ax.scatter(flat[inside, 0], flat[inside, 1], s=8, alpha=0.6, label=f"{segment}: {name}")
    ax.set(xlabel="first principal component", ylabel="second principal component", title=title)
    ax.legend(fontsize=7, markerscale=2, loc="best")
    return ax


def profile_bars(profile: pd.DataFrame, features: list[str], overall: pd.Series, ax=None):
    """Each segment's typical (median) value of each feature, relative to the median of all customers."""
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4))
    base = overall[features].replace(0, np.nan)
    relative = (profile[features] / base).fillna(1.0)
    width = 0.8 / len(profile)
    positions = np.arange(len(features))
    for i, (segment, row) in enumerate(relative.iterrows()):
        ax.bar(positions + i * width, row.to_numpy(), width, label=f"{segment}: {profile.loc[segment, 'name']}")
    ax.axhline(1.0, color="grey", linestyle=":")
    ax.set_xticks(positions + 0.4 - width / 2, features, rotation=30, ha="right")
    ax.set(ylabel="median / median of all customers", title="Segment profiles")
    ax.legend(fontsize=7)
    return ax


def response_rates(table: pd.DataFrame, average: float, best: int | None = None, ax=None):
    """Each segment's response rate (held-out customers), the average as a dotted line, the best segment marked."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    colours = ["tab:orange" if segment == best else "tab:blue" for segment in table.index]
    ax.bar([f"{s}: {n}" for s, n in zip(table.index, table["name"])], table["response_rate"], color=colours)
    ax.axhline(average, color="grey", linestyle=":", label=f"average {average:.1%}")
    ax.set(ylabel="response rate", title="Response rate per segment (held-out customers; orange: the best segment)")
    ax.tick_params(axis="x", rotation=30)
    for label in ax.get_xticklabels():
        label.set_ha("right")
    ax.legend()
    return ax


def metric_over_k(results: pd.DataFrame, metric: str, ax=None, reference: float | None = None):
    """`metric` against k, one line per approach (mean and spread over seeds when `results` holds several)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    summary = results.groupby(["approach", "k"])[metric].agg(["mean", "std"]).reset_index()
    for approach, rows in summary.groupby("approach", sort=False):
        ax.errorbar(rows["k"], rows["mean"], yerr=rows["std"].fillna(0), marker="o", capsize=3, label=approach)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle=":")
    ax.set(xlabel="k (number of segments)", ylabel=metric, title=f"{metric} by number of segments")
    ax.legend(fontsize=8)
    return ax
