"""The probe-started sentence classifier (`model.head: probe`): its head starts as the probe, and a saved one
loads through transformers' Auto classes and pipeline like any other text classifier."""

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

from finetune_cookbook.core.config import ModelConfig
from finetune_cookbook.core.dropout import draw_dropout_sparsely
from finetune_cookbook.text.few_shot import probe_started
from finetune_cookbook.text.sentence_classifier import SentenceClassifier

TEXTS = ["my card never arrived", "where is my new card", "card still not here after two weeks",
         "I want to close my account", "please shut my account down", "how do I cancel the account",
         "the app crashes on login", "cannot sign in to the app", "app freezes when I open it"]
LABELS = ["card_arrival", "close_account", "app_problem"]
IDS = [0, 0, 0, 1, 1, 1, 2, 2, 2]


@pytest.fixture(scope="module")
def started(tiny_model_dir):
    start = probe_started(str(tiny_model_dir), LABELS, TEXTS, IDS, TEXTS, IDS, max_length=32)
    return start(42), AutoTokenizer.from_pretrained(tiny_model_dir)


def logits(model, tokenizer, texts) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(**tokenizer(texts, padding=True, return_tensors="pt")).logits.numpy()


def test_the_head_starts_as_the_probe(started, tiny_model_dir):
    from sentence_transformers import SentenceTransformer

    from finetune_cookbook.core.linear_probe import fit_probe

    model, tokenizer = started
    embeddings = SentenceTransformer(str(tiny_model_dir)).encode(TEXTS, normalize_embeddings=True)
    probe, _ = fit_probe(embeddings, IDS, embeddings, IDS)
    # The model computes the embedding the probe was fitted on, so before training it predicts as the probe does.
    np.testing.assert_allclose(logits(model, tokenizer, TEXTS), probe.decision_function(embeddings), atol=1e-4)
    assert model.config.id2label == dict(enumerate(LABELS))


def test_saved_model_loads_through_auto_classes_and_pipeline(started, tmp_path):
    model, tokenizer = started
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert isinstance(reloaded, SentenceClassifier)
    np.testing.assert_allclose(logits(reloaded, tokenizer, TEXTS[:3]), logits(model, tokenizer, TEXTS[:3]), atol=1e-5)
    best = pipeline("text-classification", model=str(tmp_path), device=-1)(TEXTS[:1])[0]
    expected = LABELS[int(logits(model, tokenizer, TEXTS[:1]).argmax())]
    assert best["label"] == expected


def test_a_saved_classifier_starts_a_new_one_and_keeps_no_paths(started, tmp_path):
    model, tokenizer = started
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    # The machine's own paths and the encoder's old classes stay out of the saved config.
    assert set(model.config.encoder_settings).isdisjoint({"_name_or_path", "architectures", "id2label"})
    again = SentenceClassifier.from_encoder(str(tmp_path), ["a", "b"])  # fine-tune an earlier model further
    texts = tokenizer(TEXTS[:2], padding=True, return_tensors="pt")
    model.eval()
    again.eval()
    with torch.no_grad():
        torch.testing.assert_close(again.sentence_embedding(**texts), model.sentence_embedding(**texts))
    assert again.config.id2label == {0: "a", 1: "b"}
    assert SentenceClassifier.accepts_loss_kwargs is False  # the Trainer must not rescale its mean loss


def test_padding_does_not_change_a_sentence_embedding(started):
    model, tokenizer = started
    alone = logits(model, tokenizer, TEXTS[:1])
    padded = logits(model, tokenizer, [TEXTS[0], "a much longer message that forces padding onto the first one"])[:1]
    np.testing.assert_allclose(padded, alone, atol=1e-4)


def test_the_head_choice_is_checked(tmp_path):
    from finetune_cookbook.config import load_config
    from finetune_cookbook.core.errors import ConfigError

    assert ModelConfig().head == "random"
    path = tmp_path / "config.yaml"
    path.write_text("domain: d\ntask: text_classification\ndata: {source: x.csv, text_column: t, label_column: l}\n"
                    "model: {head: mean}\n")
    with pytest.raises(ConfigError, match="model.head is 'mean'; choose one of probe, random"):
        load_config(path)
    path.write_text("domain: d\ntask: anomaly_detection\ndata: {source: x.csv, label_column: label}\n"
                    "model: {head: probe}\n")
    with pytest.raises(ConfigError, match="model.head is 'probe', a setting of the tasks with a classification"):
        load_config(path)


@pytest.mark.parametrize("kind", ["probe-started", "plain"])
def test_a_tuned_run_trains_with_plain_attention_and_sparse_dropout_and_saves_none_of_it(started, tiny_model_dir, tmp_path, kind):
    from finetune_cookbook.core.config import TrainingConfig
    from finetune_cookbook.text.training_speed import SPARSE_DROPOUT_ATTENTION, with_speed_settings

    model, tokenizer = started
    if kind == "plain":
        model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir)
    before = logits(model, tokenizer, TEXTS)
    attention = lambda m: m.base_model.config._attn_implementation  # noqa: E731 (the encoder's, which has attention)
    try:
        assert attention(with_speed_settings(model, TrainingConfig(speed="naive"))) == "sdpa"
        assert not any("forward" in vars(m) for m in model.modules())
        assert attention(with_speed_settings(model, TrainingConfig(speed="tuned"))) == SPARSE_DROPOUT_ATTENTION
        assert all("forward" in vars(m) for m in model.modules() if type(m) is torch.nn.Dropout)
        np.testing.assert_allclose(logits(model, tokenizer, TEXTS), before, atol=1e-5)
        model.save_pretrained(tmp_path)
        assert attention(AutoModelForSequenceClassification.from_pretrained(tmp_path)) == "sdpa"
    finally:
        model.base_model.set_attn_implementation("sdpa")  # the module's fixture is shared
        draw_dropout_sparsely(model, enabled=False)
