"""Settings compared over folds of train + validation (`cookbook crossval`), for datasets too small for one
validation split to rank settings.

Train and validation are pooled (the test split is never read) and cut into stratified folds. Each fold is the
validation split of a fine-tune on the others, and every epoch's validation probabilities are kept. The epoch is
kept on one half of the fold (as training keeps it) and scored on the other half (as evaluation scores it), both
ways ("cross-fitted"), so the choice of epoch does not flatter the score. Run it on copies of a config that
differ in one setting, and keep the higher mean by a rule written down before the runs.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import StratifiedKFold
from transformers import TrainerCallback

from finetune_cookbook.core.data import LABEL, LabelledData
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.core.metrics import roc_auc
from finetune_cookbook.core.records import write_json
from finetune_cookbook.core.training import answering_in_fp32, evaluation_order, in_dataset_order

HALVES_SEED = 0  # the halves of a fold that choose and score the epoch: fixed, so every config gets the same ones


class ValidationHistory(TrainerCallback):
    """After every evaluation, the model's class probabilities on the validation batches: `plain`, as training
    sees them (the first of `views`, in training's precision), and `averaged` over all `views` (functions from a
    batch's inputs to the inputs the model sees, e.g. mirrored images) in fp32, as the trained model scores them.
    Training is untouched: the random state, train/eval mode and autocast are restored."""

    def __init__(self, views: list[Callable[[dict], dict]]):
        self.views, self.plain, self.averaged = views, [], []

    def on_evaluate(self, args, state, control, model=None, eval_dataloader=None, **kwargs):
        random_state, was_training = torch.get_rng_state(), model.training
        model.eval()
        device = next(model.parameters()).device
        plain, per_view = [], [[] for _ in self.views]

        def probabilities(inputs: dict) -> np.ndarray:
            return torch.softmax(model(**inputs)["logits"].float(), dim=-1).cpu().numpy()

        # The Trainer's accelerate wraps the model's own forward in autocast for bf16 / fp16 runs: `plain` keeps
        # it, as training's evaluation does; the views go without, as the trained model scores (`OrderedEvalTrainer`).
        with torch.no_grad():
            for batch in eval_dataloader:
                inputs = {name: value.to(device) for name, value in batch.items() if name != "labels"}
                plain.append(probabilities(self.views[0](inputs)))
                with answering_in_fp32(model):
                    for seen, view in zip(per_view, self.views):
                        seen.append(probabilities(view(inputs)))
        # The batches come as the trainer reads them (texts longest first in a tuned run): back to the rows' order.
        order = evaluation_order(args, eval_dataloader.dataset)
        self.plain.append(in_dataset_order(np.concatenate(plain).astype(np.float64), order))
        averaged = np.mean([np.concatenate(seen).astype(np.float64) for seen in per_view], axis=0)
        self.averaged.append(in_dataset_order(averaged, order))
        model.train(was_training)
        torch.set_rng_state(random_state)


def fold_data(data: LabelledData, folds: int, seed: int) -> list[tuple[np.ndarray, LabelledData]]:
    """Train and validation pooled and cut into `folds` stratified folds: per fold, the pooled rows it holds out,
    and the data to run it on: the other folds to train on, the fold itself as validation (and as test, which a
    fold run never reports)."""
    pool = pd.concat([data.splits["train"], data.splits["validation"]], ignore_index=True)
    smallest = pool[LABEL].value_counts().min()
    if folds < 2 or smallest < 2 * folds:  # each fold is halved again, one half choosing the epoch, one scoring it
        raise DataError(f"{folds} folds need at least {2 * max(folds, 2)} examples of every class in train + "
                        f"validation; the rarest class has {smallest}. Use fewer folds (--folds, at least 2) or more data.")
    cut = StratifiedKFold(folds, shuffle=True, random_state=seed).split(pool, pool[LABEL])
    runs = []
    for rest, held in cut:
        fold = pool.iloc[held].reset_index(drop=True)
        runs.append((held, dataclasses.replace(data, splits={"train": pool.iloc[rest].reset_index(drop=True),
                                                             "validation": fold, "test": fold})))
    return runs


def cross_fitted(label_ids, chosen_by: list[np.ndarray], scored: list[np.ndarray], positive: int | None) -> dict:
    """The kept epoch's ROC-AUC and accuracy: the epoch chosen on one half of the fold by the ROC-AUC of
    `chosen_by` (per epoch, the probabilities training keeps its best epoch by), and scored on the other half
    with `scored` (per epoch, the probabilities evaluation reports); both ways, averaged."""
    label_ids = np.asarray(label_ids)
    halves = [held for _, held in StratifiedKFold(2, shuffle=True, random_state=HALVES_SEED).split(label_ids, label_ids)]
    aucs, accuracies, epochs = [], [], []
    for choose, score in (halves, halves[::-1]):
        kept = int(np.argmax([roc_auc(label_ids[choose], epoch[choose], positive) for epoch in chosen_by]))
        aucs.append(roc_auc(label_ids[score], scored[kept][score], positive))
        accuracies.append(float((scored[kept][score].argmax(axis=1) == label_ids[score]).mean()))
        epochs.append(kept + 1)
    return {"roc_auc": float(np.mean(aucs)), "accuracy": float(np.mean(accuracies)), "kept_epochs": epochs}


def cross_validate(task, data: LabelledData, config, folds: int, record: str | Path) -> dict:
    """Every fold's cross-fitted ROC-AUC and accuracy for one config, and their means, also written to `record`
    (JSON). `task` provides `fine_tune`, `batch_views(config)` and `positive_index`. Early stopping is off in the
    fold runs: it would watch the whole fold, the half that scores the epoch included."""
    if "validation" not in data.splits:
        raise ConfigError("crossval pools train and validation; this data has no validation split.")
    positive = task.positive_index(config, data.labels)
    training = dataclasses.replace(config.training, early_stopping_patience=None)
    results = []
    for number, (held, fold) in enumerate(fold_data(data, folds, config.data.seed), start=1):
        history = ValidationHistory(task.batch_views(config))
        with tempfile.TemporaryDirectory(prefix="cookbook-crossval-") as scratch:
            task.fine_tune(fold, config, scratch, training=training, callbacks=[history])
        if any(len(epoch) != len(held) for epoch in history.plain):
            raise RuntimeError(f"fold {number}: the validation probabilities do not cover the fold's {len(held)} rows "
                               "(a sharded evaluation?); run `cookbook crossval` in one process.")
        scores = cross_fitted(fold.label_ids("validation"), history.plain, history.averaged, positive)
        results.append({"fold": number, "train": len(fold.splits["train"]), "validation": len(held), **scores,
                        "held_out_rows": sorted(int(row) for row in held)})
    summary = {"folds": results, "roc_auc": float(np.mean([r["roc_auc"] for r in results])),
               "accuracy": float(np.mean([r["accuracy"] for r in results])), "seed": config.data.seed,
               "pooled_rows": int(sum(len(r["held_out_rows"]) for r in results))}
    write_json(record, summary)
    return {**summary, "record": str(record)}
