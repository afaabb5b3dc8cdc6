"""A tuned CPU run's text attention: transformers' eager attention, its dropout drawn sparsely."""

import torch
from transformers.models.bert.modeling_bert import eager_attention_forward

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
        theirs = eager_attention_forward(module, query, key, value, mask, dropout=0.0)
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b)
    module.train()
    output, weights = eager_attention_sparse_dropout(module, query, key, value, None, dropout=0.5)
    assert output.shape == (2, 7, 3, 8)
    assert 0.3 < (weights == 0).float().mean().item() < 0.7
    module.eval()
    _, weights = eager_attention_sparse_dropout(module, query, key, value, None, dropout=0.5)
    assert (weights > 0).all()
