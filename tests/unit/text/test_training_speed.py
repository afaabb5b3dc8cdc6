"""A tuned CPU run's text encoder: transformers' eager attention, its dropout drawn sparsely; and bench-speed's
candidate of a residual stream in bf16 under bf16 autocast."""

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


def test_under_bf16_autocast_the_residual_stream_is_bf16_padding_still_masked_and_fp32_unchanged(tiny_model_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from finetune_cookbook.text.training_speed import carry_residual_stream_in_autocast_precision, train_faster_on_a_cpu

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    texts = ["where is my new card", "card still not here after two weeks of waiting"]
    padded = tokenizer(texts, padding=True, return_tensors="pt")
    torch.manual_seed(0)
    model = train_faster_on_a_cpu(AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).eval())
    embeddings = model.base_model.embeddings
    assert "forward" not in vars(embeddings)  # not kept: a tuned run leaves the stream in fp32
    with torch.no_grad():
        fp32_before = model(**padded).logits
        with torch.autocast("cpu", dtype=torch.bfloat16):
            streams_before = [h.dtype for h in model(**padded, output_hidden_states=True).hidden_states]
    assert set(streams_before) == {torch.float32}  # autocast alone: a layer norm's output, and the stream, in fp32

    assert carry_residual_stream_in_autocast_precision(model.base_model)
    first = vars(embeddings)["forward"]
    assert carry_residual_stream_in_autocast_precision(model.base_model)  # twice is once
    assert vars(embeddings)["forward"] is first
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            output = model(**padded, output_hidden_states=True)
            alone = model(**tokenizer(texts[:1], return_tensors="pt")).logits
        with torch.autocast("cpu", dtype=torch.float16):  # fp16 residuals could overflow: left in fp32
            fp16_streams = {h.dtype for h in model(**padded, output_hidden_states=True).hidden_states}
        torch.testing.assert_close(model(**padded).logits, fp32_before, rtol=0, atol=0)  # no autocast: as it was
    assert {h.dtype for h in output.hidden_states} == {torch.bfloat16} and fp16_streams == {torch.float32}
    # the padded text's padding is masked: its logits are the text's alone, to bf16's precision
    torch.testing.assert_close(alone.float(), output.logits[:1].float(), rtol=0.02, atol=0.01)
    torch.testing.assert_close(output.logits.float(), fp32_before, rtol=0.05, atol=0.02)

    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(**padded, labels=torch.tensor([0, 1])).loss
    loss.backward()
    weight = model.base_model.encoder.layer[0].attention.self.query.weight
    assert weight.dtype == weight.grad.dtype == torch.float32 and weight.grad.abs().sum() > 0

    carry_residual_stream_in_autocast_precision(model.base_model, enabled=False)
    assert "forward" not in vars(embeddings)
    assert not carry_residual_stream_in_autocast_precision(torch.nn.Linear(2, 2))  # no embeddings: nothing to do


def test_the_speed_settings_come_off_again_to_the_attention_the_model_was_loaded_with(tiny_model_dir):
    from transformers import AutoModelForSequenceClassification

    from finetune_cookbook.text.training_speed import (SPARSE_DROPOUT_ATTENTION,
                                                       carry_residual_stream_in_autocast_precision,
                                                       train_faster_on_a_cpu, without_speed_settings)

    for loaded_with in ("sdpa", "eager"):
        model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, attn_implementation=loaded_with)
        without_speed_settings(model)  # never set: as it is
        assert model.config._attn_implementation == loaded_with
        train_faster_on_a_cpu(train_faster_on_a_cpu(model))  # twice still remembers the first
        carry_residual_stream_in_autocast_precision(model.base_model)
        assert model.config._attn_implementation == SPARSE_DROPOUT_ATTENTION
        assert any("forward" in vars(m) for m in model.modules())
        without_speed_settings(model)
        assert model.config._attn_implementation == loaded_with
        assert not any("forward" in vars(m) for m in model.modules())  # the dropouts' and the embeddings'
