"""Recipe settings as dataclasses, read from one YAML file.

Every field carries a help string (as transformers' run_glue.py does): the reference for what a config may say.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


def _help(text: str, default: Any = dataclasses.MISSING, default_factory: Any = dataclasses.MISSING,
          internal: bool = False) -> Any:
    """A field with its help text; an `internal` one is set by the code, never shown to users as a setting."""
    return field(default=default, default_factory=default_factory, metadata={"help": text, "internal": internal})


DATA_FORMATS = ("csv", "json", "parquet", "excel")  # the values `data.format` takes


@dataclass
class DataConfig:
    source: str | dict[str, Any] = _help(
        "Where the data is: a file (delimited text, JSON, JSON Lines, parquet, Excel; optionally .gz, .bz2, .xz or "
        "a .zip holding one file), a folder (holding one data file, or files named after splits such as train.csv "
        "and test.csv), or a hub dataset id. Or a mapping of split to source, e.g. {train: a.csv, test: b.csv}; a "
        "split's entry may be a mapping with `path` and its own reading settings (format, field, column_names, "
        "delimiter, encoding, sheet, split). A test split that comes with the data is used as it is; validation "
        "is carved from train when none is given. Relative paths are looked up from the current folder, then from "
        "the config file's folder and its parents."
    )
    label_column: str = _help("The column that holds the label of each row.")
    text_column: str | None = _help("The column that holds the text to classify (text domains).", None)
    image_column: str | None = _help(
        "Images listed in a CSV: the column of image paths (relative to the CSV's folder). Default `image`.", None
    )
    split_column: str | None = _help(
        "Images listed in a CSV: a column saying each image's split (train, validation or val, test); those splits are "
        "kept, as split folders' are. Unset, the splits are made here.", None
    )
    format: str | None = _help(
        "How to read the files: `csv` (any delimited text), `json` (JSON Lines, an array of records, or a document "
        "with the records under `field`), `parquet` or `excel`. Guessed from the suffix when unset.", None
    )
    column_names: list[str] | None = _help(
        "Names of the columns, in order, for files with no header row (or JSON records that are arrays).", None
    )
    field: str | None = _help("The key of a JSON document under which the records sit (as `datasets` calls it).", None)
    sheet: str | None = _help("The Excel sheet to read; the first one when unset.", None)
    label_mapping: dict[str, str] | None = _help(
        "Maps raw label values to class names, e.g. {1: negative, 3: neutral, 5: positive}. "
        "Keys match values as a person reads them: 5, 5.0 and '5' are the same, and yes / no stay words. "
        "Values missing from the mapping are an error, so nothing is dropped silently.",
        None,
    )
    labels: list[str] | None = _help(
        "The class names in the order the model uses. Defaults to the mapping's values in order of first appearance, "
        "the hub dataset's class names, or the sorted distinct labels.",
        None,
    )
    split: str | None = _help(
        "For a hub dataset: the one split to read (and split afresh). Unset, its own train / validation / test "
        "splits are kept.", None
    )
    subset: str | None = _help("For a hub dataset with several configurations: the one to read (glue's `sst2`).", None)
    delimiter: str | None = _help(
        "Field separator of delimited text (one character, or tab / comma / semicolon / pipe / space); unset, the "
        "one of comma, tab, semicolon and bar that splits the first lines into the same number of fields, the "
        "suffix's usual one (comma for .csv, tab otherwise) first.", None
    )
    encoding: str = _help("Text encoding of the file. The default also accepts a UTF-8 byte-order mark.", "utf-8-sig")
    quoting: bool = _help(
        "Whether double quotes in delimited text enclose fields (the CSV rule). Set false for files whose quotes are "
        "plain text, such as tab-separated files where a message may start with a quote.", True
    )
    empty_texts: str = _help("What to do with rows whose text is empty: `error` (the default) or `drop`.", "error")
    deduplicate: bool = _help(
        "Drop rows whose text repeats an earlier row (case and spacing ignored), so no text is in two splits.", True
    )
    sample_size: int | None = _help(
        "Keep only this many rows (a stratified sample) after cleaning: for quick runs and smoke tests. A test or "
        "validation split that came with the data is kept whole; only the rows to train on are sampled.", None
    )
    test_size: float = _help("Share of rows held out for the final test.", 0.2)
    validation_size: float = _help("Share of rows used for validation (early stopping, model selection).", 0.1)
    seed: int = _help("Seed of the sampling and of the split.", 42)


@dataclass
class ModelConfig:
    name: str = _help(
        "A local folder, an installed model package, or a hub id. The default resolves to the copy of "
        "all-MiniLM-L6-v2 installed from PyPI, so it works offline.",
        "sentence-transformers/all-MiniLM-L6-v2",
    )
    max_length: int = _help("Longest input in tokens; longer texts are truncated.", 128)
    head: str = _help(
        "Text and image domains: how the classifier starts. `random`: a new head started at random (for text, "
        "transformers' own classification head on the [CLS] token). `probe`: the head starts as a logistic "
        "regression fitted on the frozen model's features of the training split, then head and pre-trained "
        "weights are fine-tuned together (LP-FT). For text the head sits on the encoder's sentence embedding "
        "(mean pooling, unit length, as sentence encoders such as all-MiniLM-L6-v2 are trained), and the model "
        "loads with transformers once `finetune_cookbook.sentence_classifier` is imported. For images it is the "
        "frozen approach's own linear head on the backbone's pooled features; the scratch CNN starts at random "
        "either way.", "random"
    )
    image_size: int = _help("Images are resized to this many pixels a side (image domains).", 128)
    test_time_flip: bool = _help(
        "Image domains: average each image's prediction with its mirror image's (test-time augmentation), for "
        "every approach at evaluation, and in prediction. Training keeps its best epoch on the plain images.", False
    )


@dataclass
class TrainingConfig:
    epochs: float = _help("Passes over the training data (early stopping may end sooner).", 5)
    batch_size: int = _help("Examples per training step on each device.", 16)
    eval_batch_size: int = _help("Examples per evaluation step on each device.", 64)
    learning_rate: float = _help("Peak learning rate of AdamW.", 5e-5)
    weight_decay: float = _help("AdamW weight decay.", 0.01)
    warmup_ratio: float = _help("Share of the training steps spent warming the learning rate up.", 0.1)
    lr_scheduler: str = _help("How the learning rate decays after warm-up: `linear`, `cosine` or `constant`.", "linear")
    label_smoothing: float = _help(
        "Share of each label's probability spread over the other classes (0 turns it off): a guard against "
        "over-confident models on small or noisy data.", 0.0
    )
    class_weights: str = _help(
        "`balanced` weighs the loss by inverse class frequency (for imbalanced data); `none` does not.", "balanced"
    )
    early_stopping_patience: int | None = _help(
        "Stop after this many evaluations without improvement of `metric_for_best_model`; null turns it off.", 2
    )
    metric_for_best_model: str = _help(
        "Validation metric that picks the best checkpoint and drives early stopping and the search: "
        "`macro_f1`, `accuracy`, `roc_auc` (image and fraud domains), `average_precision` (fraud) or `loss` (lower "
        "is better).",
        "macro_f1",
    )
    ema_decay: float | None = _help(
        "Image domains: keep an exponential moving average of the weights while training, with this decay per "
        "step (0.99 averages over about the last 100 steps), and evaluate, keep and save the average instead of the "
        "last weights: smoother from step to step, so the epoch chosen on a small validation split may be less a "
        "matter of luck (on BreastMNIST it was not; see the recipe README). null: off.", None
    )
    layer_decay: float | None = _help(
        "Image domains, pre-trained backbones: layer-wise learning-rate decay (timm's). The head trains at "
        "`learning_rate`, and each block below at this factor times the rate of the block above it, so the early "
        "layers' general features move least. null: one learning rate for every layer.", None
    )
    precision: str = _help(
        "`auto` uses bf16 where the CPU or GPU supports it (fp16 on older GPUs), else fp32; or force `bf16`, `fp16`, `fp32`.",
        "auto",
    )
    max_steps: int | None = _help("Stop after this many optimiser steps (overrides epochs); for smoke runs.", None)
    logging_steps: int = _help("Log the training loss every this many steps.", 10)
    save_total_limit: int = _help("Checkpoints kept on disk (the best one is always kept).", 2)
    seed: int = _help("Seed of the model head's initialisation, dropout and data order.", 42)

    @property
    def greater_is_better(self) -> bool:
        return self.metric_for_best_model != "loss"


@dataclass
class EvaluationConfig:
    positive_class: str | None = _help(
        "The class whose detection matters (a tumor, a fraud): sensitivity is its recall, specificity the other "
        "classes' recall. Unset: the second class of data.labels, as scikit-learn takes label 1 as positive.", None
    )
    target_sensitivity: float = _help(
        "The decision threshold is the highest one that still finds this share of the positive class on the "
        "validation split (a screening choice: a miss costs more than a second look).", 0.9
    )


@dataclass
class IntentConfig:
    responses: str | None = _help(
        "Intent domains: a file mapping every intent to the bot's reply, YAML or JSON ({intent: reply}) or a table "
        "with columns `intent` and `response`. Training refuses a file that names an intent the data lacks, or "
        "misses one it has. Unset, the bot names the intent it understood.", None
    )
    out_of_scope_label: str | None = _help(
        "The label that marks real out-of-scope queries in the data (CLINC150's `oos`). Those rows are never "
        "trained on, and never used to choose the threshold: they only measure how often the bot hands them over.",
        None,
    )
    out_of_scope_source: str | dict[str, Any] | None = _help(
        "A separate file of real out-of-scope queries (CLINC150's `oos_test`), or a mapping with `path` and its own "
        "reading settings (format, field, column_names, delimiter, text_column ...). Like out_of_scope_label rows, "
        "they only measure the hand-over.", None
    )
    holdout_share: float = _help(
        "Share of the intents held out of a second training run and treated as unknown, to choose the confidence "
        "threshold below which the bot hands over to a human, with no out-of-scope labels.", 0.2
    )
    threshold: float | None = _help(
        "A fixed confidence threshold for the hand-over; unset, it is chosen on validation with held-out intents.",
        None,
    )
    handover_reply: str = _help(
        "What the bot says when it hands a message over.",
        "I'm not sure I understood, so I'm passing you to a colleague who will reply shortly.",
    )
    max_message_chars: int = _help(
        "Messages longer than this go straight to a human without being classified (a long message is rarely one "
        "simple intent).", 1000
    )
    few_shot_examples: int = _help(
        "Examples per intent the few-shot approach (a linear probe, then fine-tuning) trains on.", 10
    )
    curve_examples: list[int] = _help(
        "Examples per intent for the learning curve (benchmark and notebook), besides all of them.",
        default_factory=lambda: [5, 10, 20, 50],
    )
    few_shot_curve_examples: list[int] = _help(
        "The learning curve's points (examples per intent) where the few-shot approach also runs.",
        default_factory=lambda: [5, 10, 20],
    )
    curve_min_steps: int = _help(
        "A learning-curve fine-tune on few examples trains for at least this many optimiser steps (more epochs).",
        300,
    )


@dataclass
class TabularConfig:
    drop_columns: list[str] = _help(
        "Columns the model must not see: identifiers (a policy or customer number) and columns that leak the "
        "outcome (a field filled in after the investigation).", default_factory=list
    )
    column_types: dict[str, str] = _help(
        "Overrides of the inferred column kinds: numeric, categorical, band (ordered text bands such as "
        "'more than 69000'), boolean (yes / no) or date. Unlisted columns are inferred from the training rows.",
        default_factory=dict,
    )
    positive_value: str | None = _help(
        "The label value that means the positive outcome (a fraud, a response). Unset: 1, true or yes, when the "
        "label column holds two values.", None
    )
    time_columns: list[str] | None = _help(
        "Columns that give each row's time, most significant first (e.g. [Year, Month]; month names and dates "
        "are understood). Set, the split is time-ordered: the latest rows are the test split and the ones before "
        "them validation. Unset, the split is stratified and seeded.", None
    )
    min_category_count: int = _help(
        "Categories seen fewer times than this in the training rows are grouped into one 'rare' category.", 5
    )
    missing_values: list[str] | dict[str, Any] = _help(
        "Cell values that mean 'unknown' and are read as empty cells: a list for every column (e.g. ['?', 'NA']), "
        "or per column (e.g. {pdays: [-1, 999], job: [unknown]}). Numbers match by value (999 matches 999.0). "
        "The label column is never changed.", default_factory=list
    )
    decimal: str = _help(
        "The decimal mark of the file's numbers: '.' (12,345.67) or ',' (12.345,67, as many semicolon files "
        "write them).", "."
    )


@dataclass
class PretrainConfig:
    output_dir: str | None = _help(
        "Where `cookbook pretrain` saves the pre-trained checkpoint (safetensors, config.json, the column "
        "encoder) and where `cookbook train` loads it from. Unset: `<output_dir>/pretrained`.", None
    )
    epochs: float = _help("Passes over the unlabelled training rows.", 40)
    batch_size: int = _help("Rows per pre-training step.", 256)
    learning_rate: float = _help("Peak learning rate of pre-training.", 1e-3)
    mask_rate: float = _help("Share of each row's columns hidden for the model to rebuild.", 0.3)
    corruption: str = _help(
        "How a hidden column is hidden. `mask_token`: a learned token that says only which column it is; the model "
        "rebuilds the hidden columns. `swap`: the same column's value from another training row, so every input "
        "looks like real data, as fine-tuning's do; the model rebuilds every column of the clean row (denoising).",
        "mask_token",
    )
    contrastive_weight: float = _help(
        "Weight of a contrastive term added to the rebuilding (SCARF-like): two corruptions of each row must "
        "recognise each other among the batch's other rows (under torchrun, the process's own batch). Each step "
        "then encodes every row twice. 0 turns it off.", 0.0
    )
    d_token: int = _help("Width of each column's token (and of the row embedding).", 64)
    n_blocks: int = _help("Transformer blocks.", 2)
    n_heads: int = _help("Attention heads per block (d_token must be a multiple of it).", 8)
    max_steps: int | None = _help("Stop pre-training after this many steps (overrides epochs); for smoke runs.", None)
    fine_tune_learning_rate: float | None = _help(
        "Peak learning rate for fine-tuning the pre-trained network on labels. Unset: `training.learning_rate`, which "
        "the same network trained from scratch uses either way, so each can have the rate it trains best at.", None
    )
    fine_tune_mask_rate: float = _help(
        "Share of each labelled row's columns hidden while fine-tuning (an augmentation the pre-trained model "
        "understands; 0 turns it off).", 0.3
    )
    probe_first: bool = _help(
        "Start the fine-tuned head as a logistic regression on the frozen embeddings (linear probe, then "
        "fine-tuning), instead of at random.", True
    )


@dataclass
class FraudConfig:
    label_budget: float = _help(
        "Share of the training rows whose labels fine-tuning may use (a stratified, seeded draw): 1.0 uses every "
        "label. The pre-training uses every training row without its label either way.", 1.0
    )
    label_budgets: list[float] = _help(
        "The label budgets the benchmark and the notebook compare every approach at.",
        default_factory=lambda: [0.01, 0.05, 0.2, 1.0],
    )
    budget_seeds: list[int] = _help(
        "Seeds of the labelled subsets drawn at each budget (the test split stays the same); results are the mean "
        "and spread over them.", default_factory=lambda: [0, 1, 2, 3, 4]
    )
    min_steps: int = _help("Fine-tuning on few labels trains for at least this many optimiser steps.", 300)
    alert_share: float = _help(
        "The share of cases an investigator can review (the alert budget): precision and recall are reported for "
        "the top-scored share.", 0.05
    )
    cost_missed_fraud: float = _help("What a fraud that is not flagged costs (any currency).", 1000.0)
    cost_false_alarm: float = _help("What flagging a genuine case costs: the investigator's time.", 50.0)


@dataclass
class SegmentationConfig:
    recency_column: str | None = _help("Days since the customer's last purchase (the R of RFM).", None)
    purchase_columns: list[str] = _help(
        "Counts of purchases (by channel, say); their sum is the frequency (the F of RFM).", default_factory=list)
    spend_columns: list[str] = _help(
        "Amounts spent (by product category, say); their sum is the monetary value (the M of RFM), and each "
        "one's share of it a spend-mix feature.", default_factory=list)
    joined_column: str | None = _help("The date the customer joined; tenure is counted from it.", None)
    date_format: str | None = _help(
        "How joined_column's dates are written, as a strftime pattern (e.g. '%d-%m-%Y'). Unset: ISO dates "
        "(2024-07-08); a day-first or month-first date is never guessed.", None)
    snapshot_date: str | None = _help(
        "The day the data was taken (ISO date): tenure and age are counted up to it. Unset: the latest join date "
        "in the file.", None)
    birth_year_column: str | None = _help("The customer's year of birth; becomes an age.", None)
    age_column: str | None = _help("The customer's age in years, for files that give an age instead of a year of "
                                   "birth (set one of the two).", None)
    household_columns: list[str] = _help(
        "Counts of other people in the household (children, teenagers); household size adds them to the "
        "customer and a partner.", default_factory=list)
    partner_column: str | None = _help("A column (marital status) saying whether the customer lives with a "
                                       "partner.", None)
    partner_values: list[str] = _help("Values of partner_column that mean a partner lives in the household.",
                                      default_factory=lambda: ["married", "together"])
    income_column: str | None = _help("Household income, used to describe segments.", None)
    k: int | None = _help("The number of segments. Unset: the k of k_range with the best silhouette.", None)
    k_range: list[int] = _help("The numbers of segments compared (smallest and largest).",
                               default_factory=lambda: [3, 8])
    min_segment_share: float = _help(
        "A segment must hold at least this share of the training customers to count as the best segment (a "
        "cluster of nine people is not a campaign). Smaller segments are still shown.", 0.05)
    stability_runs: int = _help("k-means runs on other seeds and on bootstrap samples, each, for the stability "
                                "(adjusted Rand index).", 5)
    contact_share: float = _help("The targeting example's budget: the share of customers a campaign can contact.",
                                 0.1)
    fine_tune_steps: int = _help("Fine-tuning the customer encoder on the responses takes at least this many "
                                 "optimiser steps (more when training.epochs asks for more).", 300)


@dataclass
class TuneConfig:
    n_trials: int = _help("Fixed budget: the number of trials of the hyperparameter search.", 6)
    learning_rate: list[float] = _help("Range searched for the learning rate (log scale).", default_factory=lambda: [1e-5, 2e-4])
    epochs: list[int] = _help("Range searched for the number of epochs.", default_factory=lambda: [2, 6])
    batch_size: list[int] = _help("Batch sizes to choose from.", default_factory=lambda: [8, 16, 32])
    weight_decay: list[float] = _help("Range searched for the weight decay.", default_factory=lambda: [0.0, 0.1])
    seed: int = _help("Seed of the search's sampler, so a search can be repeated.", 42)


@dataclass
class RecipeConfig:
    domain: str = _help("Short name of the domain, used in records and benchmark tables.")
    data: DataConfig = _help("Where the data is and how to read it.")
    task: str = _help(
        "What kind of model to train: a name registered in `finetune_cookbook.tasks.TASKS`, e.g. "
        "`text_classification`.", "text_classification")
    model: ModelConfig = _help("The pre-trained model to start from.", default_factory=ModelConfig)
    training: TrainingConfig = _help("Fine-tuning settings.", default_factory=TrainingConfig)
    tune: TuneConfig = _help("Hyperparameter search settings (`cookbook tune`).", default_factory=TuneConfig)
    evaluation: EvaluationConfig = _help("How test results are judged.", default_factory=EvaluationConfig)
    intent: IntentConfig = _help(
        "Intent domains: the bot's replies, its hand-over threshold, few-shot and learning-curve settings.",
        default_factory=IntentConfig,
    )
    tabular: TabularConfig = _help(
        "Tabular domains: columns to drop, column kinds, the positive label value, a time-ordered split.",
        default_factory=TabularConfig,
    )
    pretrain: PretrainConfig = _help("Tabular domains: self-supervised pre-training (`cookbook pretrain`).",
                                     default_factory=PretrainConfig)
    fraud: FraudConfig = _help("Fraud domains: label budgets, the alert budget and the costs that set the threshold.",
                               default_factory=FraudConfig)
    segmentation: SegmentationConfig = _help(
        "Segmentation domains: the customer columns behind the RFM and other features, and how many segments.",
        default_factory=SegmentationConfig)
    bench_seeds: list[int] = _help(
        "Seeds `make bench` repeats every approach with (the split's and the training's seed together); it "
        "records the mean and the spread.", default_factory=lambda: [42]
    )
    output_dir: str = _help("Where the model, metrics, model card and checkpoints are written.", "outputs/run")
    config_path: str | None = _help("The file this config was read from (set by the loader).", None, internal=True)

    @property
    def search_dirs(self) -> list[Path]:
        """Folders a relative data path is looked up in: the current one, then the config's folder and its parents."""
        dirs = [Path.cwd()]
        if self.config_path:
            config_dir = Path(self.config_path).resolve().parent
            dirs += [config_dir, *config_dir.parents]
        return dirs


def _build(cls: type, values: Any, where: str) -> Any:
    """Builds dataclass `cls` from a mapping, refusing unknown keys and values of the wrong kind."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping of settings, got {type(values).__name__}.")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        # `config_path` and the like are accepted (a saved config.yaml holds them) but never offered to users
        shown = [name for name, f in known.items() if not f.metadata.get("internal")]
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(unknown)}. Known settings: {', '.join(shown)}."
        )
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, f"{where}.{name}")
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


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Checks a YAML value against a field's type, converting the harmless cases (1 -> 1.0, keys -> str)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        for option in inner[:-1]:
            try:
                return _coerce(value, option, where)
            except ConfigError:
                continue
        return _coerce(value, inner[-1], where)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping such as {{1: negative, 5: positive}}, got {value!r}.")
        if args and args[1] is Any:
            return {_as_text(k): v for k, v in value.items()}
        return {_as_text(k): _as_text(v) for k, v in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list such as [a, b], got {value!r}.")
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
    raise ConfigError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}.")


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


def load_config(path: str | Path, overrides: dict | None = None) -> RecipeConfig:
    """Reads a recipe config; `overrides` (nested like the YAML) win over the file, as notebook parameters do."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found. Copy one from recipes/<domain>/config.yaml.")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=Yaml12Loader) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    raw = _merge(raw, overrides or {})
    raw["config_path"] = str(path)
    config = _build(RecipeConfig, raw, str(path))
    _check_choices(config, str(path))
    return config


# `pretrain.corruption` and what the pre-training then is, as in "pre-trained by ..."
PRETRAIN_OBJECTIVES = {"mask_token": "masked-feature reconstruction",
                       "swap": "denoising of swapped columns"}


def pretraining_objective(settings: PretrainConfig) -> str:
    """What pre-training taught, as in "pre-trained by ..."."""
    objective = PRETRAIN_OBJECTIVES[settings.corruption]
    return f"{objective} and contrastive views" if settings.contrastive_weight > 0 else objective


HEAD_TASKS = ("text_classification", "intent_classification", "image_classification")  # they read `model.head`
IMAGE_TRAINING_TASKS = ("image_classification",)  # they read `training.ema_decay` and `training.layer_decay`


def _check_choices(config: RecipeConfig, where: str) -> None:
    choices = {
        "data.empty_texts": (config.data.empty_texts, {"error", "drop"}),
        "training.class_weights": (config.training.class_weights, {"balanced", "none"}),
        "training.precision": (config.training.precision, {"auto", "bf16", "fp16", "fp32"}),
        "training.metric_for_best_model": (
            config.training.metric_for_best_model, {"macro_f1", "accuracy", "roc_auc", "average_precision", "loss"}),
        "training.lr_scheduler": (config.training.lr_scheduler, {"linear", "cosine", "constant"}),
        "model.head": (config.model.head, {"random", "probe"}),
        "pretrain.corruption": (config.pretrain.corruption, set(PRETRAIN_OBJECTIVES)),
        "tabular.decimal": (config.tabular.decimal, {".", ","}),
    }
    # Settings only some tasks read, when set away from their default: (value, the tasks, what those tasks are).
    task_settings = {
        "model.head": (config.model.head if config.model.head != "random" else None, HEAD_TASKS,
                       "the tasks with a classification head"),
        "training.ema_decay": (config.training.ema_decay, IMAGE_TRAINING_TASKS, "the image tasks"),
        "training.layer_decay": (config.training.layer_decay, IMAGE_TRAINING_TASKS, "the image tasks"),
    }
    for name, (value, tasks, which) in task_settings.items():
        if value is not None and config.task not in tasks:
            raise ConfigError(f"{where}: {name} is {value!r}, a setting of {which} ({', '.join(tasks)}); remove it "
                              f"for task {config.task!r}.")
    # Optional settings that, when set, lie strictly between 0 and 1: (value, what it is, an example, what null does).
    open_unit_settings = {
        "training.ema_decay": (config.training.ema_decay, "a factor", 0.99, "to leave it off"),
        "training.layer_decay": (config.training.layer_decay, "a factor", 0.8, "to leave it off"),
        "pretrain.fine_tune_learning_rate": (config.pretrain.fine_tune_learning_rate, "a learning rate", 3.0e-3,
                                             "to use training.learning_rate"),
    }
    for name, (value, what, example, unset) in open_unit_settings.items():
        if value is not None and not 0 < value < 1:
            raise ConfigError(f"{where}: {name} is {value}; use {what} between 0 and 1, such as {example}, or null "
                              f"{unset}.")
    if config.data.format is not None:
        choices["data.format"] = (config.data.format, set(DATA_FORMATS))
    for name, (value, allowed) in choices.items():
        if value not in allowed:
            raise ConfigError(f"{where}: {name} is {value!r}; choose one of {', '.join(sorted(allowed))}.")
    for name in ("test_size", "validation_size"):
        share = getattr(config.data, name)
        if not 0 < share < 1:
            raise ConfigError(f"{where}: data.{name} is {share}; it must lie between 0 and 1.")
    if not 0 <= config.training.label_smoothing < 1:
        raise ConfigError(f"{where}: training.label_smoothing is {config.training.label_smoothing}; use 0 to 0.3.")
    if not 0 < config.evaluation.target_sensitivity <= 1:
        raise ConfigError(f"{where}: evaluation.target_sensitivity must lie in (0, 1].")
    if not 0 < config.intent.holdout_share < 1:
        raise ConfigError(f"{where}: intent.holdout_share is {config.intent.holdout_share}; it must lie between 0 and 1.")
    for name in ("few_shot_examples", "max_message_chars", "curve_min_steps"):
        if getattr(config.intent, name) < 1:
            raise ConfigError(f"{where}: intent.{name} is {getattr(config.intent, name)}; it must be at least 1.")
    if any(count < 1 for count in config.intent.curve_examples + config.intent.few_shot_curve_examples):
        raise ConfigError(f"{where}: intent.curve_examples and few_shot_curve_examples count examples per intent: "
                          "use whole numbers of at least 1.")
    if config.intent.threshold is not None and not 0 <= config.intent.threshold <= 1:
        raise ConfigError(f"{where}: intent.threshold is {config.intent.threshold}; a confidence lies in [0, 1].")
    fraud = config.fraud
    if not all(0 < b <= 1 for b in [fraud.label_budget, *fraud.label_budgets]):
        raise ConfigError(f"{where}: fraud.label_budget(s) are shares of the training labels: use values in (0, 1].")
    if not 0 < fraud.alert_share < 1:
        raise ConfigError(f"{where}: fraud.alert_share is {fraud.alert_share}; it is a share of the cases, in (0, 1).")
    if fraud.cost_missed_fraud <= 0 or fraud.cost_false_alarm <= 0:
        raise ConfigError(f"{where}: fraud.cost_missed_fraud and fraud.cost_false_alarm must be positive.")
    segmentation = config.segmentation
    low, high = (segmentation.k_range + [0, 0])[:2]
    if len(segmentation.k_range) != 2 or not 2 <= low <= high:
        raise ConfigError(f"{where}: segmentation.k_range is {segmentation.k_range}; give the smallest and largest "
                          "number of segments, e.g. [3, 8] (at least 2).")
    if segmentation.k is not None and segmentation.k < 2:
        raise ConfigError(f"{where}: segmentation.k is {segmentation.k}; segments need k of at least 2.")
    if not 0 < segmentation.min_segment_share < 0.5:
        raise ConfigError(f"{where}: segmentation.min_segment_share is {segmentation.min_segment_share}; use a share "
                          "of the customers in (0, 0.5), e.g. 0.05.")
    if not 0 < segmentation.contact_share < 1:
        raise ConfigError(f"{where}: segmentation.contact_share is {segmentation.contact_share}; use a share of the "
                          "customers in (0, 1), e.g. 0.1.")
    if segmentation.birth_year_column and segmentation.age_column:
        raise ConfigError(f"{where}: segmentation.birth_year_column and age_column are both set; set the one your "
                          "file has (age_column for ages, birth_year_column for years of birth).")
    for column, markers in (config.tabular.missing_values.items() if isinstance(config.tabular.missing_values, dict)
                            else []):
        if not isinstance(markers, list) or not all(isinstance(m, (str, int, float)) for m in markers):
            raise ConfigError(f"{where}: tabular.missing_values.{column} is {markers!r}; give a list of the values "
                              f"that mean unknown, e.g. {{{column}: [-1, 999]}}.")
    if not 0 <= config.pretrain.fine_tune_mask_rate < 1:
        raise ConfigError(f"{where}: pretrain.fine_tune_mask_rate must lie in [0, 1).")
    if not config.pretrain.contrastive_weight >= 0:
        raise ConfigError(f"{where}: pretrain.contrastive_weight is {config.pretrain.contrastive_weight}; use 0 (off) "
                          "or a positive weight, e.g. 1.0.")
    if not 0 < config.pretrain.mask_rate < 1 or config.pretrain.d_token % config.pretrain.n_heads:
        raise ConfigError(f"{where}: pretrain.mask_rate must lie in (0, 1) and pretrain.d_token be a multiple of "
                          "pretrain.n_heads.")
    if config.data.test_size + config.data.validation_size >= 1:
        raise ConfigError(f"{where}: data.test_size + data.validation_size must leave rows for training.")


def config_to_dict(config: RecipeConfig) -> dict:
    """The config as plain data, for saving beside a model and in records."""
    return dataclasses.asdict(config)
