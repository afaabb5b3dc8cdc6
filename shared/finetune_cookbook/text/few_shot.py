"""A sentence classifier whose head starts from a linear probe, then every weight fine-tuned (LP-FT).

With ten examples a class, a random head never recovers from dragging the encoder off course, so the head starts
as a probe fitted on the frozen sentence embeddings (`core.linear_probe`). The model keeps the
encoder's own sentence embedding (mean pooling, unit length; `sentence_classifier.py`), which is what
all-MiniLM-L6-v2 was pre-trained to produce. It serves few-shot runs and, with `model.head: probe`, full ones.
"""

from __future__ import annotations

from transformers import AutoTokenizer, set_seed

from finetune_cookbook.core.linear_probe import fit_probe, probe_weights
from finetune_cookbook.core.training import torch_device
from finetune_cookbook.text.sentence_classifier import SentenceClassifier


def probe_started(encoder_path: str, labels: list[str], train_texts, train_ids, validation_texts, validation_ids,
                  max_length: int):
    """A function of the seed that returns a `SentenceClassifier` whose head starts as the probe. The probe is
    fitted once, on the frozen embeddings the model itself computes, its strength chosen on validation."""
    tokenizer = AutoTokenizer.from_pretrained(encoder_path)
    frozen = SentenceClassifier.from_encoder(encoder_path, labels).to(torch_device())
    embed = lambda texts: frozen.embed(tokenizer, list(texts), max_length)  # noqa: E731
    probe, _ = fit_probe(embed(train_texts), train_ids, embed(validation_texts), validation_ids)
    head = probe_weights(probe, len(labels))
    del frozen

    def start(seed: int) -> SentenceClassifier:
        set_seed(seed)
        return SentenceClassifier.from_encoder(encoder_path, labels, *head)

    return start
