"""A tuned run on a CPU trains attention as plain matrix multiplies; a naive one keeps transformers' default."""

import inspect

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification
from transformers.trainer_utils import number_of_arguments

from finetune_cookbook.core.config import TrainingConfig
from finetune_cookbook.text import classifier


def tiny_bert():
    return BertForSequenceClassification(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                                                    num_attention_heads=2, intermediate_size=32))


@pytest.mark.parametrize("speed, expected", [("tuned", "eager"), ("naive", "sdpa")])
def test_the_run_s_speed_chooses_the_attention_kernel(speed, expected):
    model = classifier.with_training_attention(tiny_bert(), TrainingConfig(speed=speed))
    assert model.config._attn_implementation == expected


def test_eager_attention_scores_as_the_fused_kernel_does():
    model = tiny_bert().eval()
    ids = torch.randint(0, 50, (3, 7))
    mask = torch.ones_like(ids)
    mask[0, 4:] = 0  # a padded row: the mask must be read alike
    fused = model(input_ids=ids, attention_mask=mask).logits
    eager = classifier.with_training_attention(model, TrainingConfig(speed="tuned"))(input_ids=ids, attention_mask=mask).logits
    assert torch.allclose(fused, eager, atol=1e-5)


def test_a_search_s_model_init_is_wrapped_without_changing_what_the_trainer_passes_it(tmp_path, monkeypatch):
    made = {}

    def capture(training, args, *, model=None, model_init=None, **_):
        made["model"], made["model_init"] = model, model_init

    monkeypatch.setattr(classifier, "build_trainer", capture)
    monkeypatch.setattr(classifier, "load_tokenizer", lambda config: None)
    monkeypatch.setattr(classifier, "tokenize", lambda data, tokenizer, max_length: {"train": [], "validation": []})
    monkeypatch.setattr(classifier, "padding_collator", lambda *a: None)
    monkeypatch.setattr(classifier, "trainer_metrics", lambda labels: None)

    class Data:
        labels = ["a", "b"]

        def label_ids(self, split):
            return []

    class Config:
        class model:
            max_length = 8

    for trial_init in (lambda trial: tiny_bert(), lambda: tiny_bert()):
        classifier.text_trainer(Data(), Config, TrainingConfig(speed="tuned"), None, model_init=trial_init)
        wrapped = made["model_init"]
        assert number_of_arguments(wrapped) == len(inspect.signature(trial_init).parameters)
        built = wrapped(None) if number_of_arguments(wrapped) else wrapped()
        assert built.config._attn_implementation == "eager"
