"""Text classification (reviews): the text classifier's steps (`text.classifier`) as the task protocol.

Everything here is the text modality's: a review classifier needs nothing of its own beyond it. The intent task
builds on the same steps and adds its bot.
"""

from finetune_cookbook.text.classifier import (  # noqa: F401  (the protocol, and what notebook 01 shows)
    HEADLINE_METRICS,
    TEXT,
    export,
    fine_tune,
    frozen_embeddings_baseline,
    load_data,
    load_tokenizer,
    model_card,
    model_name,
    new_data_features,
    predict,
    predict_file,
    predictor,
    save_model,
    shift_features,
    tfidf_baseline,
    tune,
)
from finetune_cookbook.text.scratch import scratch_baseline
from finetune_cookbook.text.training_speed import (  # noqa: F401  (bench-speed times them)
    carry_residual_stream_in_autocast_precision, train_faster_on_a_cpu)


def baselines(data, config, output_dir=None) -> list:
    """What you get without fine-tuning: a model of the texts' words (TF-IDF), the same network with random
    weights trained on the task's texts, and the frozen pre-trained encoder with a linear head."""
    return [tfidf_baseline(data), scratch_baseline(data, config), frozen_embeddings_baseline(data, config)]


def __getattr__(name: str):
    """The rest of the text classifier's helpers (`tokenize`, `predict_table`, ...), under this module as before
    the layout, for notebooks and scripts that call them here."""
    from finetune_cookbook.text import classifier

    if not name.startswith("__") and hasattr(classifier, name):
        return getattr(classifier, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
