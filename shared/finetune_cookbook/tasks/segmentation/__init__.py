"""Marketing segmentation: customer segments from a customer encoder pre-trained on behaviour and fine-tuned on
past campaign responses.

Five approaches, clustered by k-means on the same training customers, at every k of `segmentation.k_range`, and
judged on the same held-out (test) customers:
- `kmeans_raw`: the file's columns, standardised;
- `kmeans_rfm`: recency, frequency and monetary value;
- `pretrained`: the embeddings of the encoder pre-trained on the customers without responses;
- `scratch`: the embeddings of the same network trained from a random start on the responses only;
- `fine_tuned`: the embeddings of the pre-trained encoder fine-tuned on the responses.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from finetune_cookbook.core.compare import ApproachResult
from finetune_cookbook.core.config import RecipeConfig, TrainingConfig
from finetune_cookbook.core.data import LABEL
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.core.io.readers import ROW
from finetune_cookbook.core.label_curve import FULL, labelled_subset
from finetune_cookbook.core.measure import Measurement, measure
from finetune_cookbook.core.metrics import ranking_metrics
from finetune_cookbook.core.shift import sample_rows
from finetune_cookbook.core.training import FineTuneResult
from finetune_cookbook.core.progress import rows_of
from finetune_cookbook.tabular.columns import (
    TabularEncoder,
    check_input_columns,
    column_notes,
    flag_out_of_range,
    infer_column_types,
    model_columns,
    parse_numbers,
    source_rows,
)
from finetune_cookbook.tabular.data import TARGET, TabularData, load_tabular_data
from finetune_cookbook.tabular.model import TabularForClassification
from finetune_cookbook.tabular.pretraining import (
    Pretrained,
    fit_classifier,
    keep_best_share,
    labelled_training,
    load_classifier,
    load_pretrained,
    positive_scores,
    pretrained_model_name,
    read_new_rows,
    save_classifier,
    start_classifier,
    weights_of,
)
from finetune_cookbook.tabular.pretraining import pretrain as pretrain_model
from finetune_cookbook.tasks.segmentation.card import segmentation_model_card
from finetune_cookbook.tasks.segmentation.config import SegmentationConfig
from finetune_cookbook.tasks.segmentation.customers import (
    AGE,
    FREQUENCY,
    HOUSEHOLD,
    MONETARY,
    RECENCY,
    RFM,
    SHARE_PREFIX,
    TENURE,
    CustomerColumns,
    roles_in_file,
    spend_labels,
)
from finetune_cookbook.tasks.segmentation.segments import (
    Segments,
    best_segment,
    compactness,
    contact_order,
    contact_plan,
    fit_segments,
    held_out_lift,
    profile,
    response_by_segment,
    segment_names,
    stability,
    targeting,
)
from finetune_cookbook.tasks.segmentation.spaces import EmbeddingSpace, raw_space, response_weights, rfm_space

# validation_lift: the same best segment measured on the validation customers, where settings are compared
HEADLINE_METRICS = ("lift", "best_segment_share", "ari", "silhouette", "davies_bouldin", "validation_lift")
CHOSEN_ON_VALIDATION = ("fine_tune_share",)
LABELS = ("no_response", "responded")
APPROACHES = ("kmeans_raw", "kmeans_rfm", "pretrained", "scratch", "fine_tuned")
MIN_CUSTOMERS_PER_SEGMENT = 20  # fewer training customers per segment and a segment's response rate is noise
DESCRIPTIONS = {
    "kmeans_raw": "k-means on the file's columns, standardised",
    "kmeans_rfm": "k-means on recency, frequency and monetary value",
    "pretrained": "k-means on the pre-trained encoder's embeddings (no responses)",
    "scratch": "k-means on the embeddings of the same network trained on the responses only",
    "fine_tuned": "k-means on the embeddings of the pre-trained encoder fine-tuned on the responses",
}


@dataclass
class CustomerData(TabularData):
    """The customers, split, with the engineered features added to every split's rows."""

    customers: CustomerColumns | None = None
    engineered: list[str] = field(default_factory=list)
    segment_table: str | None = None  # the saved segments as Markdown, once `fine_tune` made them (model card)

    def features(self, split: str) -> pd.DataFrame:
        """The engineered features and the income, as numbers, for profiles and names."""
        frame = self.splits[split]
        income = self.customers.settings.income_column
        columns = self.engineered + ([income] if income else [])
        return frame[columns].apply(lambda values: parse_numbers(values.astype("string")))

    def own_columns(self) -> dict[str, str]:
        """The file's numeric, band and yes / no columns that no role names: they name segments the role
        features leave unnamed (a schema without spend or purchases, say)."""
        taken = set(self.engineered) | set(self.customers.role_columns)
        return {c: kind for c, kind in self.kinds.items() if kind in ("numeric", "band", "boolean") and c not in taken}

    def as_in_file(self, split: str) -> pd.DataFrame:
        """The split's customers with the file's columns only, as new customers come to `predict`: no response,
        no computed feature (a role column that carries its feature's name, such as `age`, stays)."""
        computed = [c for c in self.engineered if c not in self.customers.role_columns]
        return self.splits[split].drop(columns=list(dict.fromkeys([*computed, TARGET, LABEL, self.label_column])))

    def naming_features(self, split: str) -> pd.DataFrame:
        """`features` and the file's own columns as numbers, for segment names."""
        own = model_columns(self.splits[split], self.own_columns(), self.report.source)
        return pd.concat([self.features(split), own], axis=1)


def model_name(config: RecipeConfig) -> str:
    """The pre-trained customer encoder, as records and cards name it, fine-tuned on the responses."""
    return f"{pretrained_model_name(config)}, fine-tuned on campaign responses"


def k_values(config: RecipeConfig) -> list[int]:
    low, high = config.segmentation.k_range
    return sorted(set(range(low, high + 1)) | ({config.segmentation.k} if config.segmentation.k else set()))


def load_data(config: RecipeConfig) -> CustomerData:
    """The customers: the response labelled 1 / 0, split (stratified), checked, with RFM, spend shares, tenure,
    age and household size added; nothing is written."""
    data = load_tabular_data(config, LABELS, describe_columns=False)
    origin = data.report.source
    file_columns = [c for c in data.splits["train"].columns if c not in (TARGET, LABEL)]
    settings, unset = roles_in_file(config.segmentation, file_columns, origin)
    data.report.notes += unset
    columns = CustomerColumns(settings)
    columns.check_config(file_columns, origin)
    everyone = pd.concat(data.splits, names=["split", None])  # checked at once: an error counts every bad row
    columns.fit_snapshot(everyone, origin)  # no label in it: every customer may count
    featured = columns.add_features(everyone, origin)
    splits = {split: featured.xs(split, level="split") for split in data.splits}
    engineered = columns.engineered_columns()
    exclude = [config.data.label_column, *config.tabular.drop_columns, TARGET, LABEL, *columns.replaced_columns]
    kinds = infer_column_types(splits["train"], exclude, config.tabular.column_types, origin)
    report = data.report
    report.notes += columns.notes()
    report.notes += column_notes(splits["train"], {c: k for c, k in kinds.items() if c not in engineered},
                                 config.tabular.column_types, config.tabular.time_columns or [])
    if columns.stand_ins:
        report.notes.append(f"Stand-ins: {', '.join(f'{c} enters as {f}' for c, f in columns.stand_ins.items())} "
                            f"(counted to {columns.snapshot.date() if columns.snapshot is not None else 'today'}).")
    if not any(c in engineered for c in RFM):
        report.notes.append("No recency, purchase or spend column is named in the segmentation section, so there "
                            "is no RFM baseline (kmeans_rfm); the other approaches run as usual.")
    _check_enough(splits, config, origin)
    return CustomerData(splits=splits, labels=data.labels, report=report, kinds=kinds,
                        positive_value=data.positive_value, label_column=data.label_column, customers=columns,
                        engineered=engineered)


def _check_enough(splits: dict[str, pd.DataFrame], config: RecipeConfig, origin: str) -> None:
    largest = max(k_values(config))
    needed = MIN_CUSTOMERS_PER_SEGMENT * largest
    train = len(splits["train"])
    if train < needed:
        total = sum(len(frame) for frame in splits.values())
        raise DataError(
            f"{origin}: {total} customers leave {train} for training, too few for {largest} segments: each segment "
            f"needs about {MIN_CUSTOMERS_PER_SEGMENT} customers, so at least {needed} training customers. Add "
            f"customers, or ask for fewer segments (segmentation.k_range, segmentation.k)."
        )


def pretrain(data: CustomerData, config: RecipeConfig, output_dir=None, *, resume: bool = False,
             callbacks=None) -> Pretrained:
    """`cookbook pretrain`: the encoder pre-trained on every training customer, without responses."""
    return pretrain_model(data, config, output_dir, resume=resume, callbacks=callbacks)


# ---------------------------------------------------------------------------------------------------- segments


@dataclass
class SegmentRun:
    """One approach's segments at one k: the centres, every split's assignments, the training response rate of
    each segment, the chosen best segment and the metrics."""

    approach: str
    k: int
    segments: Segments
    labels: dict[str, np.ndarray]
    training_rates: pd.Series
    best: int
    metrics: dict[str, float]
    cost: Measurement
    seed: int
    points: dict[str, np.ndarray] | None = field(default=None, repr=False)  # every split's points, for the map

    def result(self) -> ApproachResult:
        one_hot = np.eye(self.k)[self.labels["test"]]  # `.predictions` is then each test customer's segment
        return ApproachResult(approach=self.approach, description=DESCRIPTIONS[self.approach], metrics=self.metrics,
                              probabilities=one_hot, train_seconds=self.cost.seconds, samples_per_second=0.0,
                              peak_memory_mb=self.cost.peak_memory_mb, setting={"k": self.k}, seed=self.seed)


def segment(approach: str, points: dict[str, np.ndarray], data: CustomerData, config: RecipeConfig, k: int,
            seed: int, cost: Measurement) -> SegmentRun:
    """k-means on the training customers' points; the best segment chosen on them, its lift measured on test."""
    settings = config.segmentation
    segments = fit_segments(points["train"], k, seed)
    labels = {split: segments.assign(values) for split, values in points.items()}
    train_targets = data.targets("train")
    best = best_segment(labels["train"], train_targets, k, settings.min_segment_share)
    metrics = {
        **held_out_lift(labels["test"], data.targets("test"), best),
        **compactness(points["train"], labels["train"], seed),
        "ari": stability(points["train"], k, seed, settings.stability_runs, reference=labels["train"]),
        "validation_lift": held_out_lift(labels["validation"], data.targets("validation"), best)["lift"],
    }
    rates = response_by_segment(labels["train"], train_targets, k)["response_rate"]
    return SegmentRun(approach, k, segments, labels, rates, best, metrics, cost, seed, points)


def over_k(approach: str, space, data: CustomerData, config: RecipeConfig, seed: int,
           cost: Measurement | None = None) -> list[SegmentRun]:
    """The approach's segments at every k compared; `space` is fitted on the training customers here."""
    with measure(approach) as fitting:
        space.fit(data.splits["train"])
        points = {split: space.transform(data.splits[split]) for split in ("train", "validation", "test")}
    cost = Measurement(fitting.seconds + (cost.seconds if cost else 0.0),
                       max(fitting.peak_memory_mb, cost.peak_memory_mb if cost else 0.0))
    return [segment(approach, points, data, config, k, seed, cost) for k in k_values(config)]


def chosen_k(runs: list[SegmentRun], config: RecipeConfig) -> int:
    """The config's k, else the k with the best silhouette: the one whose segments are the most distinct."""
    if config.segmentation.k:
        return config.segmentation.k
    scored = [run for run in runs if np.isfinite(run.metrics["silhouette"])]  # NaN: everyone in one segment
    return max(scored or runs, key=lambda run: run.metrics["silhouette"] if scored else 0.0).k


def baseline_spaces(data: CustomerData, config: RecipeConfig, pretrained: Pretrained) -> dict:
    origin = data.report.source
    spaces = {"kmeans_raw": raw_space(data.kinds, data.engineered, origin, config.tabular.min_category_count)}
    if any(c in data.engineered for c in RFM):  # else no recency, purchase or spend column: the report says so
        spaces["kmeans_rfm"] = rfm_space(data.engineered, origin)
    spaces["pretrained"] = EmbeddingSpace(pretrained.model.encoder, pretrained.encoder, origin)
    return spaces


@dataclass
class ResponseModel:
    """The encoder trained on the responses (fine-tuned, or from a random start), its trainer and cost, and the
    share of what fine-tuning changed that it keeps (`pretrain.fine_tune_shares`; None: from a random start)."""

    model: TabularForClassification
    trainer: object
    cost: Measurement
    share: float | None = None


def response_model(data: CustomerData, config: RecipeConfig, pretrained: Pretrained, output_dir, *,
                   from_pretrained: bool, seed: int, training: TrainingConfig | None = None, resume: bool = False,
                   callbacks=None, checkpoints: bool = True) -> ResponseModel:
    """The network trained to predict the response of the training customers, for at least
    `segmentation.fine_tune_steps` steps (no early stopping). The fine-tuned one is then moved back toward its
    start by `pretrain.fine_tune_shares`, keeping the share whose responses rank the validation customers best."""
    min_steps = 0 if training is not None else config.segmentation.fine_tune_steps
    training = labelled_training(config, training, from_pretrained, seed)
    rows = {s: pretrained.encoder.encode(data.splits[s], data.report.source) for s in ("train", "validation")}
    targets = {s: data.targets(s) for s in rows}
    shares = config.pretrain.fine_tune_shares if from_pretrained else [1.0]
    start = None if shares == [1.0] else start_classifier(pretrained, config, rows["train"], targets["train"],
                                                          training.seed, from_pretrained)
    start_weights = None if start is None else weights_of(start)
    model, trainer, cost = fit_classifier(
        pretrained, config, rows["train"], targets["train"], rows["validation"], targets["validation"],
        training, output_dir, from_pretrained=from_pretrained, min_steps=min_steps, resume=resume,
        callbacks=callbacks, checkpoints=checkpoints, model=start,
    )
    share = None
    if from_pretrained:
        cost = Measurement(cost.seconds + pretrained.seconds, cost.peak_memory_mb)
        share = 1.0 if start_weights is None else keep_best_share(model, start_weights, shares, lambda: tuple(
            ranking_metrics(targets["validation"], positive_scores(model, rows["validation"]))[name]
            for name in ("average_precision", "roc_auc")))
    return ResponseModel(model, trainer, cost, share)


def response_space(model: TabularForClassification, encoder: TabularEncoder, origin: str) -> EmbeddingSpace:
    """Where a network trained on the responses places customers: its embeddings weighted by the head."""
    return EmbeddingSpace(model.encoder, encoder, origin, weights=response_weights(model))


def compare_over_k(data: CustomerData, config: RecipeConfig, pretrained: Pretrained, seed: int,
                   trained: dict[str, ResponseModel], with_baselines: bool = True) -> list[SegmentRun]:
    """Every approach at every k: the baselines (unless `with_baselines` is False), plus an embedding space per
    trained model in `trained`."""
    origin = data.report.source
    runs = []
    for approach, space in (baseline_spaces(data, config, pretrained).items() if with_baselines else ()):
        cost = Measurement(pretrained.seconds, 0.0) if approach == "pretrained" else None
        runs += over_k(approach, space, data, config, seed, cost)
    for approach, trained_model in trained.items():
        space = response_space(trained_model.model, pretrained.encoder, origin)
        runs += with_share(over_k(approach, space, data, config, seed, trained_model.cost), trained_model)
    return runs


def with_share(runs: list[SegmentRun], trained: ResponseModel) -> list[SegmentRun]:
    """The runs, each recording the share of what fine-tuning changed that its encoder kept (a fine-tuned one)."""
    for run in runs if trained.share is not None else ():
        run.metrics["fine_tune_share"] = trained.share
    return runs


def with_known_responses(data: CustomerData, budget: float, seed: int) -> CustomerData:
    """`data` whose training split keeps only `budget` of its customers (a nested, stratified draw): the ones
    whose response the networks may learn from."""
    return labelled_subset(data, budget, seed, labels=data.targets("train"))


# ---------------------------------------------------------------------------------------------------- protocol


def baselines(data: CustomerData, config: RecipeConfig, output_dir=None) -> list[ApproachResult]:
    """k-means on raw columns, on RFM and on the pre-trained embeddings, and the network trained from scratch
    on the responses, at every k of `segmentation.k_range`."""
    pretrained = load_pretrained(config, data, output_dir)
    seed = config.training.seed
    with tempfile.TemporaryDirectory(prefix="cookbook-segments-") as scratch:
        trained = {"scratch": response_model(data, config, pretrained, scratch, from_pretrained=False, seed=seed,
                                             checkpoints=False)}
        return [run.result() for run in compare_over_k(data, config, pretrained, seed, trained)]


class SegmentationResult(FineTuneResult):
    """`fine_tune`'s outcome: the result at the chosen k, plus the runs at every k and the chosen one."""

    def __init__(self, result: ApproachResult, trainer, runs: list[SegmentRun], chosen: SegmentRun):
        super().__init__(result, trainer)
        self.runs, self.chosen = runs, chosen


def fine_tune(data: CustomerData, config: RecipeConfig, output_dir=None, *, training: TrainingConfig | None = None,
              resume: bool = False, callbacks=None, pretrained: Pretrained | None = None) -> SegmentationResult:
    """Fine-tunes the pre-trained encoder on the training customers' responses, clusters its embeddings at every
    k, and keeps the segments at the chosen k (the config's, else the best silhouette) for saving."""
    output_dir = Path(output_dir or config.output_dir)
    pretrained = pretrained or load_pretrained(config, data, output_dir)
    seed = config.training.seed
    tuned = response_model(data, config, pretrained, output_dir, from_pretrained=True, seed=seed, training=training,
                           resume=resume, callbacks=callbacks)
    space = response_space(tuned.model, pretrained.encoder, data.report.source)
    runs = with_share(over_k("fine_tuned", space, data, config, seed, tuned.cost), tuned)
    if config.pretrain.fine_tune_shares != [1.0]:
        data.report.notes.append(
            f"The fine-tuned encoder keeps {tuned.share:.0%} of what fine-tuning changed (of "
            f"{config.pretrain.fine_tune_shares}): the share whose responses rank the validation customers best.")
    k = chosen_k(runs, config)
    chosen = next(run for run in runs if run.k == k)
    model = tuned.model
    model.tabular_encoder = pretrained.encoder
    table = segment_profile(data, config, chosen)
    model.segmentation = segment_record(data, config, space, chosen, table)
    data.segment_table = segment_table_markdown(table)
    return SegmentationResult(chosen.result(), tuned.trainer, runs, chosen)


def benchmark(data: CustomerData, config: RecipeConfig, scratch_dir) -> list[ApproachResult]:
    """`make bench`: pre-train on the training customers, train the scratch and fine-tuned networks on their
    responses, then every approach at every k. Below every response (`segmentation.label_budgets`), the two
    networks learn from a share of the responses, and their results carry its `label_budget`; k-means and the
    pre-trained encoder, which use no response, run once."""
    seed = config.training.seed
    pretrained = pretrain_model(data, config, folder=Path(scratch_dir) / "pretrained")
    results = []
    for budget in sorted(set(config.segmentation.label_budgets) | {FULL}):
        labelled = data if budget == FULL else with_known_responses(data, budget, seed)
        trained = {approach: response_model(labelled, config, pretrained, Path(scratch_dir) / f"{approach}-{budget:g}",
                                            from_pretrained=approach == "fine_tuned", seed=seed, checkpoints=False)
                   for approach in ("scratch", "fine_tuned")}
        runs = [run.result() for run in compare_over_k(data, config, pretrained, seed, trained,
                                                       with_baselines=budget == FULL)]
        for result in runs if budget < FULL else ():
            result.setting["label_budget"] = budget
        results += runs
    return results


def tune(data: CustomerData, config: RecipeConfig, output_dir=None):
    """Refused with a `ConfigError` that says how segmentation settings are compared instead."""
    raise ConfigError("segmentation has no `cookbook tune`: a Trainer search would rank settings by the response "
                      "model's validation loss, not by the segments. Compare settings by `validation_lift` (the best "
                      "segment, chosen on the training customers, measured on the validation ones), which `cookbook "
                      "bench` records for every approach and k; bench_marketing.yaml shows how.")


# ---------------------------------------------------------------------------------------------------- output


def segment_words(settings: SegmentationConfig) -> dict[str, tuple[str | None, str | None]]:
    """How a segment that stands out on a feature is called (when high, when low)."""
    words = {MONETARY: ("big spenders", "low spenders"), RECENCY: ("lapsed", "recent buyers"),
             FREQUENCY: ("frequent buyers", "occasional buyers"), TENURE: ("long-standing", "newer customers"),
             AGE: ("older", "younger"), HOUSEHOLD: ("families", "small households")}
    if settings.income_column:
        words[settings.income_column] = ("high income", "low income")
    for label in spend_labels(settings.spend_columns):
        words[SHARE_PREFIX + label] = (f"{label.replace('_', ' ')} buyers", None)
    return words


def column_words(features: pd.DataFrame, columns: list[str]) -> dict[str, tuple[str, str]]:
    """Plain words for the file's own columns: high / low Annual Premium; Previously Insured / not ... for a
    yes / no or 0 / 1 column."""
    words = {}
    for column in columns:
        name = str(column).replace("_", " ").strip()
        yes_no = set(features[column].dropna().unique()) <= {0.0, 1.0}
        words[column] = (name, f"not {name}") if yes_no else (f"high {name}", f"low {name}")
    return words


def segment_profile(data: CustomerData, config: RecipeConfig, run: SegmentRun, split: str = "train") -> pd.DataFrame:
    """Per segment: a name, size, share, response rate and typical (median) features, on `split`'s customers."""
    naming = data.naming_features("train")
    own_words = column_words(naming, list(data.own_columns()))
    names = segment_names(naming, run.labels["train"], run.k, segment_words(data.customers.settings),
                          fallback=own_words)
    words_used = {re.sub(r" \(\d+\)$", "", part) for name in names for part in name.split(", ")}
    named_by = [column for column, words in own_words.items() if words_used & set(words)]
    # the file's own columns that gave a segment its name are shown beside the role features, so the name is explained
    features = pd.concat([data.features(split), data.naming_features(split)[named_by]], axis=1)
    table = profile(features, run.labels[split], data.targets(split), run.k)
    table.insert(0, "name", names)
    return table


def segment_table_markdown(table: pd.DataFrame) -> str:
    """The segments' names, sizes and training response rates as a Markdown table (for the model card)."""
    lines = ["| segment | name | training customers | share | response rate |", "|---|---|---|---|---|"]
    lines += [f"| {i} | {row['name']} | {row['customers']} | {row['share']:.1%} | {row['response_rate']:.1%} |"
              for i, row in table.iterrows()]
    return "\n".join(lines)


def segment_record(data: CustomerData, config: RecipeConfig, space: EmbeddingSpace, run: SegmentRun,
                   table: pd.DataFrame) -> dict:
    """What `predict` needs to place new customers in the saved segments (JSON); `table` is the run's
    `segment_profile` on the training customers."""
    return {
        "k": run.k, "best_segment": run.best, "centres": run.segments.centres.tolist(),
        "embedding_mean": space.mean.tolist(), "embedding_scale": space.scale.tolist(),
        "embedding_weights": space.weights.tolist(),
        "names": table["name"].tolist(), "training_response_rates": run.training_rates.round(4).tolist(),
        "training_shares": table["share"].round(4).tolist(),
        "snapshot": str(data.customers.snapshot.date()) if data.customers.snapshot is not None else None,
        "settings": dataclasses.asdict(data.customers.settings), "engineered": data.engineered,
    }


def _contact_count(data: CustomerData, contact_share: float, split: str) -> int:
    return max(1, int(round(contact_share * len(data.splits[split]))))


def targeting_example(data: CustomerData, run: SegmentRun, contact_share: float, split: str = "test") -> dict:
    """A campaign that can contact `contact_share` of the held-out customers, best segments first."""
    return targeting(run.training_rates, run.labels[split], data.targets(split), _contact_count(data, contact_share, split),
                     run.seed)


def campaign_plan(data: CustomerData, config: RecipeConfig, run: SegmentRun, names: list[str], contact_share: float,
                  split: str = "test") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Who a campaign that can contact `contact_share` of `split`'s customers contacts first: the segments in
    contact order (name, training response rate, customers, how many are contacted), and the customers to contact,
    in order, by their row in the file, their identifier columns (`tabular.drop_columns`) and segment name."""
    labels = run.labels[split]
    chosen = contact_order(run.training_rates, labels, run.seed)[:_contact_count(data, contact_share, split)]
    plan = contact_plan(run.training_rates, labels, chosen, run.k)
    plan.insert(0, "name", [names[segment] for segment in plan.index])
    frame = data.splits[split]
    identifiers = [ROW] + [c for c in config.tabular.drop_columns if c in frame.columns and c != ROW]
    customers = frame.iloc[chosen][identifiers].reset_index(drop=True)
    customers["segment"] = [names[segment] for segment in labels[chosen]]
    return plan, customers


def model_card(config: RecipeConfig, data: CustomerData, metrics: dict[str, float], output_dir, made_by: str) -> str:
    """The segmentation model card (`card.py`): features, segments, held-out lift and stability; Markdown."""
    return segmentation_model_card(config, data, metrics, output_dir, made_by)


def save_model(trainer, config: RecipeConfig, output_dir, model_card: str,
               extra_files: dict[str, bytes] | None = None) -> Path:
    """The fine-tuned encoder (safetensors, config.json), the column encoder and the segments (centres, names)."""
    return save_classifier(trainer.model, config, output_dir, model_card, extra_files=extra_files,
                           segments=trainer.model.segmentation)


load_model = load_classifier


def customer_points(loaded: tuple, frame: pd.DataFrame, origin: str) -> tuple[np.ndarray, CustomerColumns, list[str]]:
    """Where the saved model (`loaded`: `load_model`'s model, encoder and info) places each customer of `frame`
    in the segments' space, the customer columns (their notes) and the file's columns the model does not read."""
    model, encoder, info = loaded
    saved = info["segments"]
    columns = saved_columns(saved)
    extra = check_input_columns(frame, input_columns(loaded), origin)
    columns.check_config(frame.columns, origin)  # a column named like a computed feature would be overwritten
    featured = columns.add_features(frame, origin)
    space = EmbeddingSpace(model.encoder, encoder, origin, weights=np.asarray(saved["embedding_weights"]))
    space.mean, space.scale = np.asarray(saved["embedding_mean"]), np.asarray(saved["embedding_scale"])
    return space.transform(featured), columns, extra


def input_columns(loaded: tuple) -> list[str]:
    """The columns a file of new customers must have: the model's, less the features computed from the roles."""
    _, encoder, info = loaded
    saved = info["segments"]
    roles = saved_columns(saved).role_columns
    return list(dict.fromkeys([c for c in encoder.input_columns if c not in saved["engineered"]] + roles))


def predict(model_dir, frame: pd.DataFrame, origin: str = "customers", loaded: tuple | None = None) -> pd.DataFrame:
    """Places customers in the saved segments: each one's segment, its name and its training response rate.
    Identifier columns are carried through; columns the model does not read are named in
    `result.attrs["ignored_columns"]`. `loaded`: the model already loaded (`load_model`), for a service."""
    loaded = loaded or load_model(model_dir)
    info = loaded[2]
    saved = info["segments"]
    with rows_of(len(frame), "customers") as advance:  # one step: placing customers takes seconds, not minutes
        points, columns, extra = customer_points(loaded, frame, origin)
        labels = Segments(np.asarray(saved["centres"])).assign(points)
        advance(len(frame))
    out = pd.DataFrame({"row": source_rows(frame).to_numpy()})
    identifiers = info.get("identifier_columns") or []
    for column in identifiers:
        if column in frame.columns:
            out[column] = frame[column].to_numpy()
    out["segment"] = labels
    out["segment_name"] = [saved["names"][i] for i in labels]
    out["segment_response_rate"] = [saved["training_response_rates"][i] for i in labels]
    out.attrs["ignored_columns"] = [c for c in extra if c not in identifiers]
    out.attrs["notes"] = [*frame.attrs.get("notes", []), *columns.notes(),
                          *flag_out_of_range(out, loaded[1], columns.add_features(frame, origin), origin)]
    return out


def saved_columns(saved: dict) -> CustomerColumns:
    """How a saved model computes its customer features from new customers' columns."""
    columns = CustomerColumns(SegmentationConfig(**saved["settings"]), new_customers=True)
    columns.snapshot = pd.Timestamp(saved["snapshot"]) if saved["snapshot"] else None
    return columns


def predictor(model_dir):
    """The saved model, loaded once, for `cookbook serve --backend torch`: customers answered as `predict` does."""
    from finetune_cookbook.tabular.predictor import RowsPredictor

    return RowsPredictor(model_dir, lambda frame, origin, loaded: predict(None, frame, origin, loaded),
                         needed=input_columns, labels=lambda info: list(info["segments"]["names"]))


def export(model_dir, export_dir, data: CustomerData | None = None, quantize: str | None = None) -> dict:
    """The encoder as ONNX (the row embedding), the column encoder as JSON, the segments' centres and names, and
    `runtime.py` with `customer_features.py` (the customer features in numpy), answering a customer with its
    segment; parity checked on the test customers of `data` (made-up rows without it)."""
    from finetune_cookbook.tabular.export import export_tabular
    from finetune_cookbook.tasks.segmentation import customer_features

    loaded = load_model(model_dir)
    model, encoder, info = loaded
    saved = info["segments"]
    segments = Segments(np.asarray(saved["centres"], dtype=np.float64))

    def reference(frame: pd.DataFrame) -> np.ndarray:
        return customer_points(loaded, frame, "the test customers")[0]

    def quality(points: np.ndarray, targets, fp32: np.ndarray) -> dict:
        chosen = segments.assign(points)
        found = {"same_segment_as_fp32": float((chosen == segments.assign(fp32)).mean())}
        if targets is not None:
            found.update(lift=held_out_lift(chosen, targets, saved["best_segment"])["lift"], scored_on=len(targets))
        return found

    kept = ("k", "best_segment", "centres", "embedding_mean", "embedding_scale", "embedding_weights", "names",
            "training_response_rates", "snapshot", "settings", "engineered")
    spec = {"output": "row_embedding", "labels": list(saved["names"]),
            "identifier_columns": info.get("identifier_columns") or [], "cells": info.get("cells") or {},
            "reading": info.get("reading") or {},
            "segments": {**{key: saved[key] for key in kept}, "features_module": "customer_features.py"}}
    frame = data.as_in_file("test") if data is not None else None
    return export_tabular(model, encoder, export_dir, spec, frame, data.targets("test") if data is not None else None,
                          reference, quality, quantize, modules={"customer_features.py": Path(customer_features.__file__)})


def predict_file(model_dir, path, column: str | None = None) -> pd.DataFrame:
    """Assigns the customers of a table (CSV or any format the package reads) to the saved segments."""
    return predict(model_dir, *read_new_rows(model_dir, path))


def shift_features(data: CustomerData, config: RecipeConfig, split: str, trainer=None) -> np.ndarray:
    """A split's customers (at most `shift.MAX_ROWS`, seeded) as the trained model's column encoder writes them,
    computed features included: what the checks of `core.shift` compare."""
    rows = sample_rows(data.splits[split], config.data.seed)
    return trainer.model.tabular_encoder.encode(rows, data.report.source).flat()


def new_data_features(model_dir, path, column: str | None = None) -> np.ndarray:
    """`shift_features` of the customers of a file, for `cookbook predict`'s check against training."""
    frame, origin = read_new_rows(model_dir, path)
    _, encoder, info = load_model(model_dir)
    featured = saved_columns(info["segments"]).add_features(sample_rows(frame), origin)
    return encoder.encode(featured, origin).flat()
