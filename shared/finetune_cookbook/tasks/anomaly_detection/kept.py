"""Which model `cookbook train` keeps: the fine-tuned network, or gradient-boosted trees on the pre-trained
features (the rows' columns, the pre-trained embedding and anomaly score), whichever ranks the validation rows
better. Neither wins everywhere: on the card sample's few sharp rules the trees often do; where labels are
scarce the network's pre-trained start can. So the run decides on validation and says which it kept and why.

The trees are saved beside the network (`trees.skops`, and the pre-trained model they read features from under
`pretrained/`), so `cookbook predict` and `cookbook serve --backend torch` score with whichever was kept. A network
of the prior start (`fraud.starts`) has the pre-trained model saved there too: it adds that model's anomaly score to
its fraud logit. The ONNX export covers the networks, not the trees.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

import numpy as np
import skops.io as skops_io

from finetune_cookbook.core.errors import DataError
from finetune_cookbook.core.metrics import ranking_metrics
from finetune_cookbook.core.saving import model_folder
from finetune_cookbook.tabular.columns import EncodedRows
from finetune_cookbook.tabular.model import TabularForMaskedFeatures, row_embeddings, standard_prior

NETWORK, TREES = "fine_tuned", "gbt_with_pretrained_features"
TREES_FILE, PRETRAINED_FOLDER = "trees.skops", "pretrained"
# What a fitted HistGradientBoostingClassifier holds beyond the types skops trusts already; nothing else loads.
TREE_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", "functools.partial",
              "sklearn.utils.validation.check_array"]


def pretrained_features(model: TabularForMaskedFeatures, rows: EncodedRows) -> np.ndarray:
    """What the trees read: the encoded columns, the pre-trained row embedding and the anomaly score."""
    embedding = row_embeddings(model.encoder, rows.numeric, rows.categorical)
    return np.hstack([rows.flat(), embedding, model.anomaly_scores(rows.numeric, rows.categorical)[:, None]])


def choose(validation_targets: np.ndarray, network_scores: np.ndarray, tree_scores: np.ndarray,
           keep: str = "best") -> tuple[str, str]:
    """(the approach kept, one line saying why): the higher validation average precision (a tie keeps the
    network, which the ONNX export covers), or the network whatever the scores with `keep="network"`."""
    ap = {name: ranking_metrics(validation_targets, s)["average_precision"]
          for name, s in ((NETWORK, network_scores), (TREES, tree_scores))}
    frauds = int(np.sum(validation_targets))
    kept = TREES if keep == "best" and ap[TREES] > ap[NETWORK] else NETWORK
    other = TREES if kept == NETWORK else NETWORK
    what = {NETWORK: "the fine-tuned network", TREES: "gradient-boosted trees on the pre-trained features"}
    why = "fraud.keep is network" if keep == "network" else f"On the validation rows ({frauds} frauds) it ranks"
    line = (f"Model kept: {what[kept]}. {why}: average precision {ap[kept]:.3f} on validation against "
            f"{ap[other]:.3f} for {what[other]}.")
    if frauds < 10 and keep == "best":
        line += (f" With {frauds} validation frauds this choice is close to a coin toss; a larger validation split "
                 "(data.validation_size) makes it firmer.")
    if kept == TREES:
        line += " `cookbook export` writes the network only; `cookbook predict` and `serve --backend torch` use the trees."
    return kept, line


def save_trees(folder: Path, trees, pretrained: TabularForMaskedFeatures) -> None:
    skops_io.dump(trees, folder / TREES_FILE)
    save_prior_model(folder, pretrained)


def save_prior_model(folder: Path, pretrained: TabularForMaskedFeatures) -> None:
    """The pre-trained model whose anomaly score a network of the prior start adds to its fraud logit (and the
    kept trees read among their features)."""
    pretrained.save_pretrained(folder / PRETRAINED_FOLDER)


def saved_at(model_dir) -> tuple[str, int]:
    """The model folder and when its weights were written: what a cached load is keyed by, so a model trained
    again into the same folder is loaded again, not served from the cache."""
    folder = model_folder(model_dir).resolve()
    return str(folder), (folder / "model.safetensors").stat().st_mtime_ns


def load_prior_model(model_dir) -> TabularForMaskedFeatures:
    return _load_prior_model(*saved_at(model_dir))


@lru_cache(maxsize=4)
def _load_prior_model(folder: str, written: int) -> TabularForMaskedFeatures:
    path = Path(folder) / PRETRAINED_FOLDER
    if not (path / "config.json").is_file():
        raise DataError(f"{path}: missing. This model reads the pre-trained model's anomaly score (a prior-start "
                        "network, or kept trees), and `cookbook train` saves that model there; train again to write it.")
    return TabularForMaskedFeatures.from_pretrained(path)


def with_prior(model_dir, rows: EncodedRows, scale: list[float]) -> EncodedRows:
    """`rows` carrying the saved pre-trained model's anomaly score in standard units (`scale`), as trained."""
    scorer = load_prior_model(model_dir)
    return dataclasses.replace(rows, prior=standard_prior(scorer.anomaly_scores(rows.numeric, rows.categorical), scale))


@lru_cache(maxsize=4)
def load_trees(folder: str, written: int):
    """The kept trees and the pre-trained model they read features from (cached: a service scores many batches;
    `written`, from `saved_at`, keeps a model trained again into the same folder from being served stale)."""
    path = Path(folder) / TREES_FILE
    untrusted = [t for t in skops_io.get_untrusted_types(file=path) if t not in TREE_TYPES]
    if untrusted:
        raise DataError(f"{path}: holds object types the kept trees never have ({', '.join(untrusted)}); it was not "
                        "written by this package, so it is not loaded.")
    return skops_io.load(path, trusted=TREE_TYPES), _load_prior_model(folder, written)


def tree_scores(model_dir, rows: EncodedRows) -> np.ndarray:
    trees, pretrained = load_trees(*saved_at(model_dir))
    return trees.predict_proba(pretrained_features(pretrained, rows))[:, 1]
