"""A tuned CPU run's text attention: transformers' eager attention, its dropout drawn sparsely."""

import torch
from transformers.models.bert import modeling_bert

from finetune_cookbook.text.training_speed import eager_attention_sparse_dropout


def test_the_attention_is_transformers_eager_one_and_drops_weights_while_training():
    torch.manual_seed(0)
    module = torch.nn.Module()
    query, key, value = (torch.randn(2, 3, 7, 8) for _ in range(3))
    mask = torch.zeros(2, 1, 7, 7)
    mask[1, :, :, 5:] = torch.finfo(torch.float32).min  # the second text is 5 tokens long
    for training in (False, True):
        module.train(training)
        ours = eager_attention_sparse_dropout(module, query, key, value, mask, dropout=0.0)
        theirs = modeling_bert.eager_attention_forward(module, query, key, value, mask, dropout=0.0)
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b)
    module.train()
    output, weights = eager_attention_sparse_dropout(module, query, key, value, None, dropout=0.5)
    assert output.shape == (2, 7, 3, 8)
    assert 0.3 < (weights == 0).float().mean().item() < 0.7
    module.eval()
    _, weights = eager_attention_sparse_dropout(module, query, key, value, None, dropout=0.5)
    assert (weights > 0).all()


class _OwnAttention(torch.nn.Module):
    """An encoder whose module has an eager attention of its own (grouped keys, soft-capping ...)."""

    def is_backend_compatible(self):
        return True


def eager_attention_forward(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    return torch.tanh(query), None  # not BERT's


def test_only_an_encoder_that_attends_as_bert_gets_the_sparse_dropout_attention(tiny_model_dir):
    from transformers import AutoModel

    from finetune_cookbook.text.training_speed import attends_as_bert

    assert attends_as_bert(AutoModel.from_pretrained(tiny_model_dir))
    assert not attends_as_bert(_OwnAttention())
    assert not attends_as_bert(torch.nn.Linear(2, 2))  # no eager attention in its module at all
