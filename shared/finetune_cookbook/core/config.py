"""Recipe settings as dataclasses, read from one YAML file: the sections every task shares, and the reading.

Every field carries a help string (as transformers' run_glue.py does): the reference for what a config may say.
A task adds its own sections by subclassing `RecipeConfig` in its own `config.py`; nothing here names a task.
Each section checks its own values (`check(where)`), so a new section brings its own checks.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.core.io.formats import DATA_FORMATS


def setting(text: str, default: Any = dataclasses.MISSING, default_factory: Any = dataclasses.MISSING,
            internal: bool = False, read_by: str | None = None) -> Any:
    """A field with its help text; an `internal` one is set by the code, never shown to users as a setting.
    `read_by` says which tasks read a setting of a shared section (\"the image tasks\"): a task whose config does not
    list it in `READS` refuses it when it is set away from its default."""
    return field(default=default, default_factory=default_factory,
                 metadata={"help": text, "internal": internal, "read_by": read_by})


def choose(where: str, name: str, value: Any, allowed: set) -> None:
    """Refuses a setting whose value is not one of `allowed`, naming them."""
    if value not in allowed:
        raise ConfigError(f"{where}: {name} is {value!r}; choose one of {', '.join(sorted(allowed))}.")


def between_zero_and_one(where: str, name: str, value: float | None, what: str, example: float, unset: str) -> None:
    """Refuses an optional setting that, when set, is not strictly between 0 and 1; `unset` says what null does."""
    if value is not None and not 0 < value < 1:
        raise ConfigError(f"{where}: {name} is {value}; use {what} between 0 and 1, such as {example}, or null {unset}.")


@dataclass
class DataConfig:
    """The `data` section: where the user's data is, its columns and labels, and how it is split."""

    source: str | dict[str, Any] = setting(
        "Where the data is: a file (delimited text, JSON, JSON Lines, parquet, Excel; optionally .gz, .bz2, .xz or "
        "a .zip holding one file), a folder (holding one data file, or files named after splits such as train.csv "
        "and test.csv), or a hub dataset id. Or a mapping of split to source, e.g. {train: a.csv, test: b.csv}; a "
        "split's entry may be a mapping with `path` and its own reading settings (format, field, column_names, "
        "delimiter, encoding, sheet, split). A test split that comes with the data is used as it is; validation "
        "is carved from train when none is given. Relative paths are looked up from the current folder, then from "
        "the config file's folder and its parents."
    )
    label_column: str = setting("The column that holds the label of each row.")
    text_column: str | None = setting("The column that holds the text to classify (text domains).", None)
    image_column: str | None = setting(
        "Images listed in a CSV: the column of image paths (relative to the CSV's folder). Default `image`.", None
    )
    split_column: str | None = setting(
        "Images listed in a CSV: a column saying each image's split (train, validation or val, test); those splits are "
        "kept, as split folders' are. Unset, the splits are made here.", None
    )
    format: str | None = setting(
        "How to read the files: `csv` (any delimited text), `json` (JSON Lines, an array of records, or a document "
        "with the records under `field`), `parquet` or `excel`. Guessed from the suffix when unset.", None
    )
    column_names: list[str] | None = setting(
        "Names of the columns, in order, for files with no header row (or JSON records that are arrays).", None
    )
    field: str | None = setting("The key of a JSON document under which the records sit (as `datasets` calls it).", None)
    sheet: str | None = setting("The Excel sheet to read; the first one when unset.", None)
    label_mapping: dict[str, str] | None = setting(
        "Maps raw label values to class names, e.g. {1: negative, 3: neutral, 5: positive}. "
        "Keys match values as a person reads them: 5, 5.0 and '5' are the same, and yes / no stay words. "
        "Values missing from the mapping are an error, so nothing is dropped silently.",
        None,
    )
    labels: list[str] | None = setting(
        "The class names in the order the model uses. Defaults to the mapping's values in order of first appearance, "
        "the hub dataset's class names, or the sorted distinct labels.",
        None,
    )
    split: str | None = setting(
        "For a hub dataset: the one split to read (and split afresh). Unset, its own train / validation / test "
        "splits are kept.", None
    )
    subset: str | None = setting("For a hub dataset with several configurations: the one to read (glue's `sst2`).", None)
    delimiter: str | None = setting(
        "Field separator of delimited text (one character, or tab / comma / semicolon / pipe / space); unset, the "
        "one of comma, tab, semicolon and bar that splits the first lines into the same number of fields, the "
        "suffix's usual one (comma for .csv, tab otherwise) first.", None
    )
    encoding: str = setting("Text encoding of the file. The default also accepts a UTF-8 byte-order mark.", "utf-8-sig")
    quoting: bool = setting(
        "Whether double quotes in delimited text enclose fields (the CSV rule). Set false for files whose quotes are "
        "plain text, such as tab-separated files where a message may start with a quote.", True
    )
    empty_texts: str = setting("What to do with rows whose text is empty: `error` (the default) or `drop`.", "error")
    deduplicate: bool = setting(
        "Drop rows whose text repeats an earlier row (case and spacing ignored), so no text is in two splits.", True
    )
    sample_size: int | None = setting(
        "Keep only this many rows (a stratified sample) after cleaning: for quick runs and smoke tests. A test or "
        "validation split that came with the data is kept whole; only the rows to train on are sampled.", None
    )
    streaming: bool = setting(
        "Read the data as a stream, for a file larger than memory: one uncompressed delimited-text, JSON Lines or "
        "parquet file, never held whole. Training then needs training.max_steps (a stream's length is unknown), "
        "and the classes named in data.labels or data.label_mapping. Each row goes to a split by a stable hash of "
        "its text: the same split every run, and every repeat of a text in the same split; repeats inside train "
        "are kept and the classes are not stratified (docs/own_data.md).", False, read_by="the text classification task"
    )
    streaming_split_rows: int = setting(
        "With data.streaming: the most rows validation and test each hold in memory, the first of their hash "
        "buckets in file order; the bucket's later rows are read past, never trained on. Also how many training "
        "rows are read before training to set the class weights.", 2000, read_by="the text classification task"
    )
    test_size: float = setting("Share of rows held out for the final test.", 0.2)
    validation_size: float = setting("Share of rows used for validation (early stopping, model selection).", 0.1)
    seed: int = setting("Seed of the sampling and of the split.", 42)

    def check(self, where: str) -> None:
        """Refuses a choice or share outside what the loader can act on; `where` names the config file."""
        choose(where, "data.empty_texts", self.empty_texts, {"error", "drop"})
        if self.format is not None:
            choose(where, "data.format", self.format, set(DATA_FORMATS))
        for name in ("test_size", "validation_size"):
            share = getattr(self, name)
            if not 0 < share < 1:
                raise ConfigError(f"{where}: data.{name} is {share}; it must lie between 0 and 1.")
        if self.test_size + self.validation_size >= 1:
            raise ConfigError(f"{where}: data.test_size + data.validation_size must leave rows for training.")
        if self.streaming_split_rows < 1:
            raise ConfigError(f"{where}: data.streaming_split_rows is {self.streaming_split_rows}; use at least 1.")
        if self.sample_size is not None and self.sample_size < 1:  # a negative one kept a few rows a class, silently
            raise ConfigError(f"{where}: data.sample_size is {self.sample_size}; keep at least 1 row, or null for "
                              "every row.")


@dataclass
class ModelConfig:
    """The `model` section: the pre-trained model to start from, and how its inputs and head are shaped."""

    name: str = setting(
        "A local folder, an installed model package, or a hub id. The default resolves to the copy of "
        "all-MiniLM-L6-v2 installed from PyPI, so it works offline.",
        "sentence-transformers/all-MiniLM-L6-v2",
    )
    max_length: int = setting("Longest input in tokens; longer texts are truncated.", 128)
    head: str = setting(
        "Text and image domains: how the classifier starts. `random`: a new head started at random (for text, "
        "transformers' own classification head on the [CLS] token). `probe`: the head starts as a logistic "
        "regression fitted on the frozen model's features of the training split, then head and pre-trained "
        "weights are fine-tuned together (LP-FT). For text the head sits on the encoder's sentence embedding "
        "(mean pooling, unit length, as sentence encoders such as all-MiniLM-L6-v2 are trained), and the model "
        "loads with transformers once `finetune_cookbook.text.sentence_classifier` is imported. For images it is the "
        "frozen approach's own linear head on the backbone's pooled features; the scratch CNN starts at random "
        "either way.", "random", read_by="the tasks with a classification head"
    )
    image_size: int = setting("Images are resized to this many pixels a side (image domains).", 128)
    test_time_flip: bool = setting(
        "Image domains: average each image's prediction with its mirror image's (test-time augmentation), for "
        "every approach at evaluation, and in prediction. Training keeps its best epoch on the plain images.", False
    )

    def check(self, where: str) -> None:
        choose(where, "model.head", self.head, {"random", "probe"})
        for name, what in (("max_length", "tokens"), ("image_size", "pixels a side")):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}: model.{name} is {getattr(self, name)}; use at least 1 ({what}).")


@dataclass
class TrainingConfig:
    """The `training` section: the fine-tuning schedule, loss, precision and checkpoint choice."""

    epochs: float = setting("Passes over the training data (early stopping may end sooner).", 5)
    batch_size: int = setting("Examples per training step on each device.", 16)
    eval_batch_size: int = setting("Examples per evaluation step on each device.", 64)
    learning_rate: float = setting("Peak learning rate of AdamW.", 5e-5)
    weight_decay: float = setting("AdamW weight decay.", 0.01)
    warmup_ratio: float = setting("Share of the training steps spent warming the learning rate up.", 0.1)
    lr_scheduler: str = setting("How the learning rate decays after warm-up: `linear`, `cosine` or `constant`.", "linear")
    label_smoothing: float = setting(
        "Share of each label's probability spread over the other classes (0 turns it off): a guard against "
        "over-confident models on small or noisy data.", 0.0
    )
    class_weights: str = setting(
        "`balanced` weighs the loss by inverse class frequency (for imbalanced data); `none` does not.", "balanced"
    )
    early_stopping_patience: int | None = setting(
        "Stop after this many evaluations without improvement of `metric_for_best_model`; null turns it off.", 2
    )
    metric_for_best_model: str = setting(
        "Validation metric that picks the best checkpoint and drives early stopping and the search: "
        "`macro_f1`, `accuracy`, `roc_auc` and `average_precision` (two classes) or `loss` (lower "
        "is better).",
        "macro_f1",
    )
    ema_decay: float | None = setting(
        "Image domains: keep an exponential moving average of the weights while training, with this decay per "
        "step (0.99 averages over about the last 100 steps), and evaluate, keep and save the average instead of the "
        "last weights: smoother from step to step, so the epoch chosen on a small validation split may be less a "
        "matter of luck (on BreastMNIST it was not; see the recipe README). null: off.", None, read_by="the image tasks"
    )
    layer_decay: float | None = setting(
        "Image domains, pre-trained backbones: layer-wise learning-rate decay (timm's). The head trains at "
        "`learning_rate`, and each block below at this factor times the rate of the block above it, so the early "
        "layers' general features move least. null: one learning rate for every layer.", None, read_by="the image tasks"
    )
    precision: str = setting(
        "`auto` uses bf16 where the CPU or GPU supports it (fp16 on older GPUs), else fp32; or force `bf16`, `fp16`, `fp32`.",
        "auto",
    )
    speed: str = setting(
        "`tuned`: the precision above; for text each batch padded only to its longest text, with texts of "
        "similar length batched together, and on a CPU attention as plain matrix multiplies (eager) and dropout "
        "drawing only the elements it drops; for images, "
        "weights and activations channels-last, and in bf16 on a CPU the depthwise convolutions trained in fp32. "
        "`naive`: what a typical tutorial does, for the benchmark to measure against: fp32, every text padded to "
        "model.max_length in random batches, images in the default layout.", "tuned",
    )
    max_steps: int | None = setting("Stop after this many optimiser steps (overrides epochs); for smoke runs.", None)
    min_steps: int | None = setting(
        "Train for at least this many optimiser steps: where `epochs` passes over a small training set make fewer, "
        "the passes are raised (whole epochs, so validation still scores every epoch's end and early stopping "
        "still applies). A floor that a large training set already passes changes nothing; `max_steps`, where "
        "set, wins. null: `epochs` alone.", None, read_by="the text and image tasks"
    )
    logging_steps: int = setting("Log the training loss every this many steps.", 10)
    save_total_limit: int = setting("Checkpoints kept on disk (the best one is always kept).", 2)
    seed: int = setting("Seed of the model head's initialisation, dropout and data order.", 42)

    @property
    def greater_is_better(self) -> bool:
        return self.metric_for_best_model != "loss"

    def check(self, where: str) -> None:
        if not (math.isfinite(self.epochs) and self.epochs > 0):
            raise ConfigError(f"{where}: training.epochs is {self.epochs}; use a number of passes above 0, e.g. 3.")
        for name, what in (("batch_size", "at least 1 example a step"), ("eval_batch_size", "at least 1 example a step"),
                           ("logging_steps", "at least 1 step"), ("save_total_limit", "at least 1")):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}: training.{name} is {getattr(self, name)}; use {what}.")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ConfigError(f"{where}: training.learning_rate is {self.learning_rate}; use a positive rate, e.g. 5e-5.")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0) or not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"{where}: training.weight_decay must be 0 or more and training.warmup_ratio in [0, 1).")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ConfigError(f"{where}: training.early_stopping_patience is {self.early_stopping_patience}; use at "
                              "least 1 evaluation, or null to turn early stopping off.")
        if self.min_steps is not None and self.min_steps < 1:
            raise ConfigError(f"{where}: training.min_steps is {self.min_steps}; use at least 1 step, or null to train "
                              "for training.epochs alone.")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"{where}: training.max_steps is {self.max_steps}; use at least 1, or null to train for "
                              "training.epochs.")
        choose(where, "training.class_weights", self.class_weights, {"balanced", "none"})
        choose(where, "training.precision", self.precision, {"auto", "bf16", "fp16", "fp32"})
        choose(where, "training.speed", self.speed, {"tuned", "naive"})
        choose(where, "training.lr_scheduler", self.lr_scheduler, {"linear", "cosine", "constant"})
        between_zero_and_one(where, "training.ema_decay", self.ema_decay, "a factor", 0.99, "to leave it off")
        between_zero_and_one(where, "training.layer_decay", self.layer_decay, "a factor", 0.8, "to leave it off")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"{where}: training.label_smoothing is {self.label_smoothing}; use 0 to 0.3.")


# Class names that say which of two classes is the one to detect (compared lower-case, spaces as underscores).
POSITIVE_NAMES = {"malignant", "tumor", "tumour", "cancer", "yes", "positive", "abnormal", "disease", "diseased",
                  "pneumonia", "fraud", "anomaly", "defect", "defective", "1", "true", "pos"}
NEGATIVE_NAMES = {"benign", "no", "notumor", "no_tumor", "no_tumour", "normal", "negative", "healthy", "0", "false",
                  "neg", "good", "ok"}


@dataclass
class EvaluationConfig:
    """The `evaluation` section: the class that matters and the sensitivity its threshold aims at."""

    positive_class: str | None = setting(
        "The class whose detection matters (a tumor, say): sensitivity is its recall, specificity the other "
        "classes' recall. Unset, or not a class of the data: of two classes, the one whose name says so "
        "(malignant, tumor, yes, positive, abnormal ...; or the other of benign, normal, no ...), else the second "
        "of data.labels, as scikit-learn takes label 1 as positive; of more classes, none.", None
    )
    target_sensitivity: float = setting(
        "The decision threshold is the highest one that still finds this share of the positive class on the "
        "validation split (a screening choice: a miss costs more than a second look).", 0.9
    )

    def positive_index(self, labels: list[str]) -> int | None:
        """The index of the class whose detection matters: `positive_class` where the data has it; else, of two
        classes, the one named as such, else the second; of more, None."""
        if self.positive_class in labels:
            return labels.index(self.positive_class)
        if len(labels) != 2:
            return None
        keys = [str(label).strip().lower().replace("-", "_").replace(" ", "_") for label in labels]
        named = [i for i, key in enumerate(keys) if key in POSITIVE_NAMES]
        if len(named) == 1:
            return named[0]
        negative = [i for i, key in enumerate(keys) if key in NEGATIVE_NAMES]
        return 1 - negative[0] if len(negative) == 1 else 1

    def positive_note(self, labels: list[str]) -> str | None:
        """What a run says when `positive_class` is not a class of the data, and what it does instead."""
        if self.positive_class is None or self.positive_class in labels:
            return None
        chosen = self.positive_class_of(labels)
        classes = ", ".join(repr(label) for label in labels[:8]) + (f" and {len(labels) - 8} more" if len(labels) > 8 else "")
        if chosen is None:
            return (f"evaluation.positive_class is {self.positive_class!r}, not a class of this data ({classes}): with "
                    f"{len(labels)} classes none is screened for, so there is no sensitivity, specificity or decision "
                    "threshold. Set it to one of them to screen for that class.")
        return (f"evaluation.positive_class is {self.positive_class!r}, not a class of this data ({classes}): "
                f"{chosen!r} is the class whose detection matters. Set evaluation.positive_class to choose the other.")

    def positive_class_of(self, labels: list[str]) -> str | None:
        """The name of the class whose detection matters, or None when there is none (more than two classes)."""
        index = self.positive_index(labels)
        return labels[index] if index is not None else None

    def check(self, where: str) -> None:
        if not 0 < self.target_sensitivity <= 1:
            raise ConfigError(f"{where}: evaluation.target_sensitivity must lie in (0, 1].")


@dataclass
class TuneConfig:
    """The `tune` section: the fixed-budget search's trials and ranges."""

    n_trials: int = setting("Fixed budget: the number of trials of the hyperparameter search.", 6)
    learning_rate: list[float] = setting("Range searched for the learning rate (log scale).", default_factory=lambda: [1e-5, 2e-4])
    epochs: list[int] = setting("Range searched for the number of epochs.", default_factory=lambda: [2, 6])
    batch_size: list[int] = setting("Batch sizes to choose from.", default_factory=lambda: [8, 16, 32])
    weight_decay: list[float] = setting("Range searched for the weight decay.", default_factory=lambda: [0.0, 0.1])
    seed: int = setting("Seed of the search's sampler, so a search can be repeated.", 42)

    def check(self, where: str) -> None:
        """A search that cannot run (no trials, a range upside down or outside what training accepts) is refused
        before the data loads, not in the first trial's traceback."""
        if self.n_trials < 1:
            raise ConfigError(f"{where}: tune.n_trials is {self.n_trials}; use at least 1 trial.")
        ranges = (("learning_rate", 0.0, False, "[1.0e-5, 2.0e-4]"), ("epochs", 1, True, "[2, 6]"),
                  ("weight_decay", 0.0, True, "[0.0, 0.1]"))
        for name, lowest, inclusive, example in ranges:
            values = getattr(self, name)
            if (len(values) != 2 or not all(math.isfinite(v) for v in values) or values[0] > values[1]
                    or (values[0] < lowest if inclusive else values[0] <= lowest)):
                bound = f"{'at least' if inclusive else 'above'} {lowest}"
                raise ConfigError(f"{where}: tune.{name} is {values}; give a range [low, high] with low {bound} and "
                                  f"not above high, such as {example}.")
        if not self.batch_size or min(self.batch_size) < 1:
            raise ConfigError(f"{where}: tune.batch_size is {self.batch_size}; list batch sizes of at least 1 to "
                              "choose from, such as [8, 16, 32].")


@dataclass
class RecipeConfig:
    """The sections every task reads. A task's own config subclasses it, adding the sections it reads and
    listing in `READS` the settings of shared sections that only some tasks read (see `setting`)."""

    READS: ClassVar[frozenset[str]] = frozenset()
    # the validation metrics `training.metric_for_best_model` may name: those the task's evaluation reports
    SELECTION_METRICS: ClassVar[frozenset[str]] = frozenset(
        {"macro_f1", "accuracy", "roc_auc", "average_precision", "loss"})

    domain: str = setting("Short name of the domain, used in records and benchmark tables.")
    data: DataConfig = setting("Where the data is and how to read it.")
    task: str = setting(
        "What kind of model to train: a name registered in `finetune_cookbook.tasks.TASKS`. It decides which "
        "other sections the config may hold. Unset: the registry's `DEFAULT_TASK`.")
    training: TrainingConfig = setting("Fine-tuning settings.", default_factory=TrainingConfig)
    bench_seeds: list[int] = setting(
        "Seeds `make bench` repeats every approach with (the split's and the training's seed together); it "
        "records the mean and the spread.", default_factory=lambda: [42]
    )
    bench_naive: bool = setting(
        "Text and image domains: `make bench` also trains the fine-tuned model with `training.speed: naive` (the "
        "`fine_tuned_naive` record), to measure the tuned settings' speed-up against.", False)
    bench_label_budgets: list[float] = setting(
        "Text and image domains: shares of the training labels `make bench` trains every approach on, each seed "
        "drawing nested, stratified subsets (validation and test stay whole), for the label-efficiency curve and "
        "the labels fine-tuning saves. 1.0, every label, is always run.", default_factory=lambda: [1.0])
    output_dir: str = setting("Where the model, metrics, model card and checkpoints are written.", "outputs/run")
    config_path: str | None = setting("The file this config was read from (set by the loader).", None,
                                      internal=True)

    @property
    def search_dirs(self) -> list[Path]:
        """Folders a relative data path is looked up in: the current one, then the config's folder and its parents."""
        dirs = [Path.cwd()]
        if self.config_path:
            config_dir = Path(self.config_path).resolve().parent
            dirs += [config_dir, *config_dir.parents]
        return dirs

    @classmethod
    def sections(cls) -> dict[str, type]:
        """The config's sections (the settings that are groups of settings), by name."""
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls) if dataclasses.is_dataclass(hints[f.name])}

    def check(self, where: str) -> None:
        """Each section checks its own values; `where` names the config file in the messages. A task whose
        rules span sections overrides this and calls it first."""
        for name in self.sections():
            section = getattr(self, name)
            if hasattr(section, "check"):
                section.check(where)
        if not self.output_dir.strip():  # "" would write the model, checkpoints and lock into the current folder
            raise ConfigError(f"{where}: output_dir is empty; name the folder the run writes to, such as outputs/run.")
        if Path(self.output_dir).exists() and not Path(self.output_dir).is_dir():
            raise ConfigError(f"{where}: output_dir {self.output_dir} is a file; name a folder (it is made if missing).")
        choose(where, "training.metric_for_best_model", self.training.metric_for_best_model, set(self.SELECTION_METRICS))
        if not all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 < b <= 1
                   for b in self.bench_label_budgets):
            raise ConfigError(f"{where}: bench_label_budgets are shares of the training labels: use numbers in (0, 1], "
                              f"such as [0.1, 0.25, 0.5, 1.0].")

    def settings_read_by_some(self) -> dict[str, tuple[Any, str]]:
        """The settings of shared sections that only some tasks read, set away from their defaults here:
        `section.name` -> (value, which tasks read it)."""
        found = {}
        for name, section_class in self.sections().items():
            section = getattr(self, name)
            for f in dataclasses.fields(section_class):
                default = f.default if f.default is not dataclasses.MISSING else None
                value = getattr(section, f.name)
                if f.metadata.get("read_by") and value != default:
                    found[f"{name}.{f.name}"] = (value, f.metadata["read_by"])
        return found


def build(cls: type, values: Any, where: str) -> Any:
    """Builds dataclass `cls` from a mapping, refusing unknown keys and values of the wrong kind."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping of settings, got {type(values).__name__}.")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        # `config_path` and the like are accepted (a saved config.yaml holds them) but never offered to users
        shown = [name for name, f in known.items() if not f.metadata.get("internal")]
        moved = getattr(cls, "MOVED", {})  # a section's settings that now live elsewhere: where to write them
        where_now = "".join(f" {name} is now {moved[name]}: move it there." for name in unknown if name in moved)
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(unknown)}.{where_now} Known settings: {', '.join(shown)}."
        )
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = build(hint, value, f"{where}.{name}")
        else:
            kwargs[name] = _coerce(value, hint, f"{where}.{name}")
    missing = [
        name for name, f in known.items()
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{where}: missing required setting(s) {', '.join(missing)}.")
    return cls(**kwargs)


def _as_text(value: Any) -> str:
    """A YAML scalar as the words a person wrote: `true` stays `true` (not Python's `True`)."""
    return str(value).lower() if isinstance(value, bool) else str(value).strip()


def _kind(hint: Any) -> str:
    """A type as a config's reader names it."""
    origin = typing.get_origin(hint)
    if origin is dict:
        return "a mapping"
    if origin is list:
        return "a list"
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false"}.get(hint, str(hint))


def _shown(value: Any) -> str:
    """A value for an error message, cut short without writing it out whole: YAML aliases can expand a few lines
    into a structure of hundreds of megabytes."""
    import reprlib

    short = reprlib.Repr()  # Python 3.11 takes its limits as attributes
    short.maxlevel, short.maxdict, short.maxlist, short.maxstring, short.maxother = 2, 4, 4, 60, 60
    return short.repr(value)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Checks a YAML value against a field's type, converting the harmless cases (1 -> 1.0, keys -> str)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        for option in inner:
            try:
                return _coerce(value, option, where)
            except ConfigError as error:
                if isinstance(value, (typing.get_origin(option) or option)):  # the right kind, wrong inside
                    raise error
                continue
        kinds = " or ".join(_kind(option) for option in inner) + (" or null" if type(None) in args else "")
        raise ConfigError(f"{where}: expected {kinds}, got {_shown(value)}.")
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping such as {{1: negative, 5: positive}}, got {_shown(value)}.")
        if args and args[1] is Any:
            return {_as_text(k): v for k, v in value.items()}
        nested = [k for k, v in value.items() if isinstance(v, (dict, list))]
        if nested:  # a YAML alias or a list where one word belongs would otherwise be pasted in as its text
            raise ConfigError(f"{where}.{_as_text(nested[0])}: expected one value (text or a number), got "
                              f"{_shown(value[nested[0]])}.")
        return {_as_text(k): _as_text(v) for k, v in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list such as [a, b], got {_shown(value)}.")
        return [_coerce(v, args[0], where) for v in value] if args else value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):
        try:
            return float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string
        except ValueError:
            pass
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is bool and isinstance(value, bool):
        return value
    if hint is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if hint is str and isinstance(value, bool):
        return str(value).lower()  # a class called `true` stays the word a person wrote
    raise ConfigError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {_shown(value)}.")


class Yaml12Loader(yaml.SafeLoader):
    """YAML as version 1.2 reads it: only true / false are booleans, so labels such as yes, no, on and off stay
    the words they are."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _merge(base: dict, overrides: dict) -> dict:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_raw(path: str | Path, overrides: dict | None = None) -> dict:
    """A config file's settings as plain data, `overrides` (nested like the YAML) merged over them, before any
    check: `finetune_cookbook.config.load_config` then builds the config class of the task it names."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found. Copy one from recipes/<domain>/config.yaml.")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=Yaml12Loader) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(raw).__name__}.")
    raw = _merge(raw, overrides or {})
    raw["config_path"] = str(path)
    return raw


def is_default(section_class: type, values: Any, where: str) -> bool:
    """Whether a section's values, as a file gives them, are all its defaults, or the defaults of an earlier version
    (`EARLIER_DEFAULTS` of the section class): an older saved config holds every task's sections that way."""
    try:
        section = build(section_class, values, where)
    except (ConfigError, TypeError):
        return False
    defaults = [section_class()] + [dataclasses.replace(section_class(), **earlier)
                                    for earlier in getattr(section_class, "EARLIER_DEFAULTS", ())]
    return section in defaults


CONFIG_FILE = "config.yaml"  # the config that made a model, as read (overrides applied), saved in the model's folder


def with_config(config: RecipeConfig, extra_files: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """`extra_files` with the config that made the model beside them: every saved model carries it, from a notebook
    as from `cookbook train`, so that `cookbook export` can check parity on the run's own test split."""
    return {CONFIG_FILE: yaml.safe_dump(config_to_dict(config), sort_keys=False).encode(), **(extra_files or {})}


FIRST_KEYS = ("domain", "task", "data")  # a saved config reads from what it is to how it trains


def config_to_dict(config: RecipeConfig) -> dict:
    """The config as plain data, for saving beside a model and in records: domain, task and data first, the
    task's own sections after the shared ones, the output folder last."""
    values = dataclasses.asdict(config)
    last = ("bench_seeds", "bench_naive", "bench_label_budgets", "output_dir", "config_path")
    order = [*FIRST_KEYS, *(k for k in values if k not in FIRST_KEYS and k not in last), *last]
    return {key: values[key] for key in order}
