"""Training a text classifier on a stream (`data.streaming: true`): the training rows tokenised as they are read.

`core.streaming` reads and splits the file; here its training rows are shuffled in a bounded buffer and tokenised
on the fly, and the Trainer counts steps instead of epochs.
"""

from __future__ import annotations

import math

from finetune_cookbook.core.config import TrainingConfig
from finetune_cookbook.core.data import LABEL
from finetune_cookbook.core.streaming import StreamedData

SHUFFLE_ROWS = 10_000  # rows held at once to shuffle the stream: a file in label order still gives mixed batches
EVALUATIONS = 5  # a stream has no epochs to evaluate after: validation is scored this many times, evenly spaced


def token_stream(data: StreamedData, text_column: str, tokenizer, max_length: int, seed: int):
    """The training rows as token ids and class ids, unpadded (the collator pads each batch), read lazily."""
    index = {name: i for i, name in enumerate(data.labels)}

    def encode(batch):
        encoded = tokenizer(batch[text_column], truncation=True, max_length=max_length)
        encoded[LABEL] = [index[name] for name in batch[LABEL]]
        return encoded

    stream = data.train_stream().shuffle(seed=seed, buffer_size=SHUFFLE_ROWS).map(encode, batched=True)
    return stream.select_columns([*tokenizer.model_input_names, LABEL])


def streaming_arguments(training: TrainingConfig, checkpoints: bool = True) -> dict:
    """TrainingArguments overrides for a stream: evaluate (and checkpoint) every max_steps / EVALUATIONS steps."""
    every = max(1, math.ceil(training.max_steps / EVALUATIONS))
    saving = dict(save_strategy="steps", save_steps=every) if checkpoints else {}
    return dict(eval_strategy="steps", eval_steps=every, **saving)


def rows_trained_note(trainer, training: TrainingConfig) -> str:
    """How much of the stream training read, for the data report."""
    rows = trainer.state.global_step * training.batch_size * trainer.args.world_size
    return (f"data.streaming: training read {rows} training rows from the stream ({trainer.state.global_step} steps "
            f"of {training.batch_size} a process); a file with fewer training rows is read again from its start.")
