"""A text classifier's steps, shared by the text tasks (reviews, intents): data, the two baselines,
fine-tuning, search and prediction. The tasks add their own data checks, cards and approaches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from datasets.fingerprint import generate_random_fingerprint
from scipy.special import softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer, set_seed

from finetune_cookbook.core.compare import ApproachResult, classification_result
from finetune_cookbook.core.config import RecipeConfig, TrainingConfig, with_config
from finetune_cookbook.core.data import LABEL, ROW, LabelledData, list_rows, load_labelled_data, require_columns
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.core.io.readers import read_lines, read_table
from finetune_cookbook.core.io.resolve import resolve_model
from finetune_cookbook.core.measure import measure
from finetune_cookbook.core.progress import rows_of
from finetune_cookbook.core.metrics import trainer_metrics
from finetune_cookbook.core.saving import model_folder, read_model_info, save_atomically
from finetune_cookbook.core.shift import sample_rows
from finetune_cookbook.core.streaming import StreamedData, load_streamed_data
from finetune_cookbook.core.training import (
    FineTuneResult,
    build_trainer,
    checkpoint_to_resume,
    floored_trial_epochs,
    timed_training,
    training_arguments,
)
from finetune_cookbook.core.tuning import SearchResult, search
from finetune_cookbook.text.card import model_card as text_model_card
from finetune_cookbook.text.few_shot import probe_started
from finetune_cookbook.text.training_speed import with_speed_settings, without_speed_settings
from finetune_cookbook.text.streaming import rows_trained_note, streaming_arguments, token_stream

TEXT = "text"
HEADLINE_METRICS = ("accuracy", "macro_f1")


def load_data(config: RecipeConfig) -> LabelledData:
    """The config's data, cleaned and split, with the text in a `text` column."""
    if not config.data.text_column:
        raise ConfigError(f"{config.config_path}: data.text_column is not set; name the column that holds the text.")
    if config.data.streaming:  # validation and test in memory; training reads the file as a stream
        return keep_text_columns(load_streamed_data(config.data, config.search_dirs, config.data.text_column,
                                                    config.data.streaming_split_rows), config)
    return keep_text_columns(load_labelled_data(config.data, config.search_dirs, config.data.text_column), config)


def keep_text_columns(data: LabelledData, config: RecipeConfig) -> LabelledData:
    """Only the row, the text (renamed `text`) and the labels travel on, so a source column that happens to be
    called `text` cannot collide."""
    keep = list(dict.fromkeys([ROW, config.data.text_column, config.data.label_column, LABEL]))
    for split, frame in data.splits.items():
        data.splits[split] = frame[keep].rename(columns={config.data.text_column: TEXT})
    return data


def tfidf_baseline(data: LabelledData) -> ApproachResult:
    """Word and bigram TF-IDF with a class-balanced logistic regression: trained on the task data only."""
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(class_weight="balanced", max_iter=2000),
    )
    train = data.splits["train"]
    with measure("tfidf_logreg") as cost:
        model.fit(train[TEXT], data.label_ids("train"))
    probabilities = model.predict_proba(data.splits["test"][TEXT])
    return classification_result(
        "tfidf_logreg", "TF-IDF + logistic regression, task data only",
        data.label_ids("test"), probabilities, data.labels, cost, len(train),
    )


def model_path(config: RecipeConfig) -> str:
    """The config's model as `from_pretrained` takes it: relative folders are looked up where data paths are."""
    return resolve_model(config.model.name, config.search_dirs)


def sentence_encoder(model_name: str, search_dirs=None):
    """The pre-trained encoder as a frozen sentence embedder (mean pooling, as all-MiniLM-L6-v2 was trained)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model(model_name, search_dirs))


def embed(encoder, texts, batch_size: int = 64) -> np.ndarray:
    return encoder.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)


def frozen_embeddings_baseline(data: LabelledData, config: RecipeConfig) -> ApproachResult:
    """The pre-trained encoder left as it is, with a class-balanced logistic regression on its embeddings."""
    train = data.splits["train"]
    encoder = sentence_encoder(config.model.name, config.search_dirs)
    with measure("frozen_embeddings_logreg") as cost:
        features = embed(encoder, train[TEXT])
        classifier = LogisticRegression(class_weight="balanced", max_iter=2000).fit(features, data.label_ids("train"))
    probabilities = classifier.predict_proba(embed(encoder, data.splits["test"][TEXT]))
    return classification_result(
        "frozen_embeddings_logreg", "frozen pre-trained encoder + logistic regression",
        data.label_ids("test"), probabilities, data.labels, cost, len(train),
    )


def load_tokenizer(config: RecipeConfig):
    return AutoTokenizer.from_pretrained(model_path(config))


def load_classifier(model_name: str, labels: list[str], seed: int, search_dirs=None):
    """The pre-trained encoder with a new, seeded classification head for `labels`."""
    set_seed(seed)
    return AutoModelForSequenceClassification.from_pretrained(
        resolve_model(model_name, search_dirs),
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        ignore_mismatched_sizes=True,  # a checkpoint with its own head for other classes gets a new one
    )


def classifier_starter(data: LabelledData, config: RecipeConfig):
    """How fine-tuning starts (`model.head`): a function of the seed that returns the pre-trained encoder with a
    head for `data.labels`, either transformers' own head at random or a head started from a linear probe fitted
    once, here, on the frozen embeddings of the training split (its strength chosen on validation)."""
    if config.model.head == "probe":
        train, validation = data.splits["train"], data.splits["validation"]
        return probe_started(model_path(config), data.labels, train[TEXT], data.label_ids("train"),
                             validation[TEXT], data.label_ids("validation"), config.model.max_length)
    return lambda seed: load_classifier(config.model.name, data.labels, seed, config.search_dirs)


def tokenize(data: LabelledData, tokenizer, max_length: int) -> DatasetDict:
    """Arrow datasets of token ids, unpadded (the collator pads each batch), with lengths for length grouping."""
    features = Features({TEXT: Value("string"), LABEL: ClassLabel(names=data.labels)})

    def encode(batch):
        encoded = tokenizer(batch[TEXT], truncation=True, max_length=max_length)
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        return encoded

    return DatasetDict({
        name: token_ids(Dataset.from_pandas(frame[[TEXT, LABEL]], features=features, preserve_index=False), encode)
        for name, frame in data.splits.items()
    })


def token_ids(dataset: Dataset, encode) -> Dataset:
    """`dataset` with its text column replaced by `encode(batch)`. The map is given a fingerprint instead of
    hashing `encode`: hashing pickles the tokenizer, half a second a call, only to name a cache file that a
    dataset held in memory never writes."""
    return dataset.map(encode, batched=True, remove_columns=[TEXT], new_fingerprint=generate_random_fingerprint())


def padding_collator(tokenizer, training: TrainingConfig, max_length: int) -> DataCollatorWithPadding:
    """Pads each batch to its longest text; with `training.speed: naive`, every text to `max_length`."""
    if training.speed == "naive":
        return DataCollatorWithPadding(tokenizer, padding="max_length", max_length=max_length)
    return DataCollatorWithPadding(tokenizer)


def text_trainer(data: LabelledData, config: RecipeConfig, training: TrainingConfig, args, *,
                 model=None, model_init=None, callbacks=None):
    """The Trainer for `data` with a fresh classifier (`model`, or `model_init` for a search), and the
    tokenized splits it reads."""
    tokenizer = load_tokenizer(config)
    datasets = tokenize(data, tokenizer, config.model.max_length)
    if model is not None:
        model = with_speed_settings(model, training)
    if model_init is not None:
        start = model_init

        def model_init(trial=None):
            return with_speed_settings(start(trial), training)

    train_dataset = datasets["train"]
    if isinstance(data, StreamedData):  # `datasets["train"]` is only the rows read before training
        train_dataset = token_stream(data, config.data.text_column, tokenizer, config.model.max_length, training.seed)
    trainer = build_trainer(
        training,
        args,
        model=model,
        model_init=model_init,
        train_dataset=train_dataset,
        eval_dataset=datasets["validation"],
        train_label_ids=data.label_ids("train"),
        n_classes=len(data.labels),
        data_collator=padding_collator(tokenizer, training, config.model.max_length),
        processing_class=tokenizer,
        compute_metrics=trainer_metrics(data.labels),
        callbacks=callbacks,
    )
    return trainer, datasets


def fine_tune(
    data: LabelledData,
    config: RecipeConfig,
    output_dir: str | Path | None = None,
    *,
    training: TrainingConfig | None = None,
    resume: bool = False,
    callbacks=None,
) -> FineTuneResult:
    """Fine-tunes every weight of the pre-trained encoder on the training split, picks the best epoch on
    validation, and scores it on test. `resume` continues from the last checkpoint in `output_dir`."""
    training = training or config.training
    output_dir = Path(output_dir or config.output_dir)
    with measure() as start_cost:  # a probe-started head is fitted here, and its time counts as training
        model = classifier_starter(data, config)(training.seed)
    trainer, datasets = text_trainer(data, config, training, arguments(data, training, output_dir), model=model,
                                     callbacks=callbacks)
    checkpoint = checkpoint_to_resume(output_dir, resume, trainer.is_world_process_zero())
    try:
        train_output, cost, speed = timed_training(trainer, checkpoint, "fine_tuned", training)
    finally:
        without_speed_settings(trainer.model)  # scored, explained and saved as it runs once reloaded
    cost.seconds += start_cost.seconds
    if isinstance(data, StreamedData):
        data.report.notes.append(rows_trained_note(trainer, training))
    result = score_on_test(trainer, datasets, data, "fine_tuned", f"{config.model.name} fine-tuned end to end",
                         cost, train_output)
    result.speed = speed
    return FineTuneResult(result=result, trainer=trainer)


def arguments(data: LabelledData, training: TrainingConfig, output_dir: Path, checkpoints: bool = True):
    """The TrainingArguments of a fine-tune: epochs raised to `training.min_steps` on a small training split; on a
    stream, steps take the place of epochs."""
    if isinstance(data, StreamedData):
        return training_arguments(training, output_dir, checkpoints=checkpoints,
                                  **streaming_arguments(training, checkpoints))
    return training_arguments(training, output_dir, checkpoints=checkpoints, train_rows=len(data.splits["train"]))


def score_on_test(trainer: Trainer, datasets: DatasetDict, data: LabelledData, approach: str, description: str,
                cost, train_output) -> ApproachResult:
    """A trained model's scores on the test split, with what its training cost."""
    logits = trainer.predict(datasets["test"]).predictions
    result = classification_result(approach, description, data.label_ids("test"), softmax(logits, axis=1),
                                   data.labels, cost, 0)
    result.samples_per_second = float(train_output.metrics["train_samples_per_second"])
    return result


def save_model(trainer: Trainer, config: RecipeConfig, output_dir: str | Path, model_card: str,
               extra_files: dict[str, bytes] | None = None) -> Path:
    """Writes weights (safetensors), tokenizer, model card (README.md) and reading instructions to
    `<output_dir>/model`, all or nothing: a crash midway leaves the previous model, never a half-written one."""
    return save_atomically(output_dir, lambda folder: trainer.save_model(str(folder)), model_info(config), model_card,
                           extra_files=with_config(config, extra_files))


def model_info(config: RecipeConfig) -> dict:
    """What `cookbook.json` records for a text model: how to read new texts the way training did."""
    return {"task": config.task, "domain": config.domain, "text_column": config.data.text_column,
            "max_length": config.model.max_length, "base_model": config.model.name}


def model_card(config: RecipeConfig, data: LabelledData, metrics: dict[str, float], output_dir: str | Path,
               made_by: str) -> str:
    """The text classifier's model card (`text.card`): data, test metrics, intended use, limitations."""
    return text_model_card(config, data.report, metrics, data.labels, output_dir, made_by)


class TextPredictor:
    """A saved text classifier loaded once (PyTorch), answering batches as `cookbook predict` does; `cookbook serve
    --backend torch` calls `predict`, which answers as an export's `runtime.py` does."""

    input_kind = "texts"
    model_file = "model.safetensors (PyTorch)"

    def __init__(self, model_dir: str | Path):
        from transformers import pipeline

        self.folder = model_folder(model_dir)
        self.info = read_model_info(self.folder)
        self.classifier = pipeline("text-classification", model=str(self.folder), top_k=None, device=-1)
        config = self.classifier.model.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]

    def table(self, texts: list[str], batch_size: int = 32) -> pd.DataFrame:
        """The label, its probability, and every class's probability (in the model's class order), a row a text."""
        scored = self.classifier(list(texts), batch_size=batch_size, truncation=True,
                                 max_length=self.info.get("max_length", 512))
        rows = []
        for text, scores in zip(texts, scored):
            best = max(scores, key=lambda s: s["score"])
            by_label = {s["label"]: s["score"] for s in scores}
            rows.append({TEXT: text, "label": best["label"], "confidence": round(best["score"], 4),
                         **{f"p_{label}": round(by_label[label], 4) for label in self.labels}})
        return pd.DataFrame(rows, columns=[TEXT, "label", "confidence", *(f"p_{label}" for label in self.labels)])

    def predict(self, texts: list[str], names=None, batch_size: int = 32) -> list[dict]:
        return self.table(texts, batch_size).to_dict("records")


def predictor(model_dir: str | Path) -> TextPredictor:
    """The saved classifier, loaded once, for `cookbook serve --backend torch`."""
    return TextPredictor(model_dir)


PREDICT_CHUNK = 512  # texts scored between two progress updates


def predict(model_dir: str | Path, texts: list[str], batch_size: int = 32) -> pd.DataFrame:
    """Labels `texts` with a saved model: the label, its probability, and every class's probability.

    An empty text (blank, or a missing cell) gets no label and a `note` saying so: a classifier asked about
    nothing still answers, confidently (neutral, 0.86), and training and chat refuse empty text. The rows
    stay in place, so row N of the output is row N of the input."""
    predictor = TextPredictor(model_dir)
    blank = [i for i, text in enumerate(texts) if not isinstance(text, str) or not text.strip()]
    unlabelled = set(blank)
    kept = [text for i, text in enumerate(texts) if i not in unlabelled] if blank else list(texts)
    parts = []
    with rows_of(len(texts), "texts") as advance:
        for start in range(0, len(kept), PREDICT_CHUNK):
            parts.append(predictor.table(kept[start:start + PREDICT_CHUNK], batch_size))
            advance(len(parts[-1]))
        advance(len(blank))
    columns = [TEXT, "label", "confidence", *(f"p_{label}" for label in predictor.labels)]
    scored = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    if not blank:
        return scored
    table = pd.DataFrame(index=range(len(texts)), columns=columns)
    table.loc[[i for i in range(len(texts)) if i not in unlabelled], columns] = scored[columns].to_numpy()
    table[TEXT] = list(texts)
    table["label"] = table["label"].fillna("")
    table["note"] = ""
    table.loc[blank, "note"] = "empty text: not labelled"
    table.attrs["notes"] = [f"{len(blank)} empty text(s) at row(s) {list_rows([i + 1 for i in blank])}: left "
                            "without a label (label blank, note column says why); a model asked about nothing "
                            "would still answer confidently."]
    return table.astype({"confidence": float, **{f"p_{label}": float for label in predictor.labels}})


def tune(data: LabelledData, config: RecipeConfig, output_dir: str | Path | None = None) -> SearchResult:
    """Searches learning rate, epochs, batch size and weight decay within `config.tune.n_trials` trials,
    scoring each on the validation split (the test split stays unseen until the final comparison)."""
    output_dir = Path(output_dir or config.output_dir) / "search"
    start = classifier_starter(data, config)
    trainer, _ = text_trainer(
        data, config, config.training, arguments(data, config.training, output_dir, checkpoints=False),
        model_init=lambda trial=None: start(config.training.seed),
    )
    return search(trainer, config.tune, config.training.metric_for_best_model, config.training.greater_is_better,
                  epochs_trained=floored_trial_epochs(
                      None if isinstance(data, StreamedData) else len(data.splits["train"]), config.training))


def model_name(config: RecipeConfig) -> str:
    """The pre-trained encoder the fine-tune starts from, as the config names it."""
    return config.model.name


def baselines(data: LabelledData, config: RecipeConfig, output_dir: str | Path | None = None) -> list[ApproachResult]:
    """What you get without fine-tuning: a model of the task data only, and the frozen pre-trained encoder."""
    return [tfidf_baseline(data), frozen_embeddings_baseline(data, config)]


def predict_table(model_dir: str | Path, table: pd.DataFrame, origin: str, text_column: str | None = None) -> pd.DataFrame:
    """Labels the texts of a table read from a user's file; the text column defaults to the training one."""
    column = text_column or read_model_info(model_dir).get("text_column") or TEXT
    require_columns(table, [column], origin, fix="Name the column that holds the texts with --column.")
    return predict(model_dir, table[column].tolist()).rename(columns={TEXT: column})


def predict_file(model_dir: str | Path, path: str | Path, column: str | None = None) -> pd.DataFrame:
    """Labels every row of a CSV / TSV / JSON Lines / parquet file, or every line of a .txt file."""
    path = Path(path)
    if path.suffix.lower() == ".txt":
        return predict(model_dir, read_lines(path))
    return predict_table(model_dir, read_table(path).drop(columns=ROW), str(path), column)


def file_texts(model_dir: str | Path, path: str | Path, column: str | None = None) -> list[str]:
    """The texts `predict_file` labels in a file."""
    path = Path(path)
    if path.suffix.lower() == ".txt":
        return read_lines(path)
    column = column or read_model_info(model_dir).get("text_column") or TEXT
    return read_table(path)[column].tolist()


def shift_features(data: LabelledData, config: RecipeConfig, split: str, trainer=None) -> np.ndarray:
    """The frozen encoder's sentence embeddings of a split's texts (at most `shift.MAX_ROWS`, seeded): what the
    checks of `core.shift` compare."""
    texts = sample_rows(data.splits[split], config.data.seed)[TEXT]
    return embed(sentence_encoder(config.model.name, config.search_dirs), texts)


def new_data_features(model_dir: str | Path, path: str | Path, column: str | None = None) -> np.ndarray:
    """`shift_features` of the texts in a file to label, for `cookbook predict`'s check against training."""
    texts = pd.DataFrame({TEXT: file_texts(model_dir, path, column)})
    return embed(sentence_encoder(read_model_info(model_dir)["base_model"]), sample_rows(texts)[TEXT])


def export(model_dir: str | Path, export_dir: str | Path, data: LabelledData | None = None,
           quantize: str | None = None, *, extra: dict | None = None) -> dict:
    """The saved classifier as ONNX with its tokenizer and `runtime.py` (`text.export`), parity checked on the
    test split of `data` (probe texts without it); `extra` joins `export.json` (the intent task's hand-over).
    Returns what `export.json` holds."""
    from finetune_cookbook.text.export import export_text_classifier

    texts = data.splits["test"][TEXT].tolist() if data is not None else None
    truth = data.splits["test"][LABEL].tolist() if data is not None else None
    return export_text_classifier(model_dir, export_dir, texts, truth, quantize, extra)
