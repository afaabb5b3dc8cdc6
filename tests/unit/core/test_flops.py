"""The FLOP count of a training run against the textbook count for a BERT encoder, and the matmul peak."""

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from finetune_cookbook.core.flops import DTYPES, TrainingWork, matmul_peak


def bert_forward_flops(config: BertConfig, batch: int, length: int, n_classes: int) -> int:
    """2 FLOPs per multiply-add: per token and layer the Q, K, V and output projections (4 d^2), the feed-forward
    (2 d f) and the attention scores and their weighted sum (2 s d); then the pooler and the head on [CLS]."""
    d, f, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_token = layers * 2 * (4 * d * d + 2 * d * f + 2 * length * d)
    return batch * length * per_token + batch * 2 * (d * d + d * n_classes)


def test_counts_each_batch_shape_as_a_bert_does_and_evaluation_once():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=3)
    model = BertForSequenceClassification(config)
    shapes = [(4, 10), (4, 10), (3, 17)]
    with TrainingWork(model) as work:
        model.train()
        for batch, length in shapes:
            ids = torch.randint(0, 100, (batch, length))
            model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.sum().backward()
        model.eval()
        with torch.no_grad():
            model(input_ids=torch.randint(0, 100, (5, 8)))
    expected = 3 * sum(bert_forward_flops(config, b, s, 3) for b, s in shapes) + bert_forward_flops(config, 5, 8, 3)
    assert work.flops() == pytest.approx(expected, rel=1e-6)
    assert model.training is False  # counting leaves the model as it found it


def test_the_hook_is_removed_when_the_block_ends():
    model = torch.nn.Linear(4, 2)
    with TrainingWork(model) as work:
        model(torch.zeros(3, 4))
    model(torch.zeros(7, 4))
    assert sum(work.batches.values()) == 1
    assert work.flops() == pytest.approx(3 * 2 * 3 * 4 * 2)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_matmul_peak_is_a_plausible_rate(precision):
    peak = matmul_peak(precision, sizes=(256,), seconds=0.05)
    assert 1e8 < peak < 1e15  # between a slow laptop core and a large GPU
    assert set(DTYPES) == {"fp32", "bf16", "fp16"}
