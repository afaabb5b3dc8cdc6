"""How a tuned run trains a text encoder on a CPU: attention as plain matrix multiplies, and dropout whose masks
are drawn sparsely (`core.dropout`). Neither changes what is saved, nor the distribution training draws its
dropout from (only which random numbers it draws); benchmarks/README.md has the timings that kept them. A third
setting, the residual stream in bf16 under bf16 autocast, is timed by `cookbook bench-speed` and was not kept."""

from __future__ import annotations

import inspect
import sys

import torch
from transformers import AttentionInterface, AttentionMaskInterface
from transformers.masking_utils import eager_mask
from transformers.models.bert import modeling_bert

from finetune_cookbook.core.config import TrainingConfig
from finetune_cookbook.core.dropout import draw_dropout_sparsely, sparse_dropout
from finetune_cookbook.core.module_forward import set_forward
from finetune_cookbook.core.training import torch_device

SPARSE_DROPOUT_ATTENTION = "eager_sparse_dropout"


def eager_attention_sparse_dropout(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """transformers' eager attention of BERT (softmax of the scaled scores, dropout, times the values), its dropout
    drawn by `sparse_dropout`."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    weights = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        weights = weights + attention_mask
    weights = sparse_dropout(torch.softmax(weights, dim=-1), dropout, module.training)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights


AttentionInterface.register(SPARSE_DROPOUT_ATTENTION, eager_attention_sparse_dropout)
# transformers builds no mask for an attention it does not know: padding would be attended to.
AttentionMaskInterface.register(SPARSE_DROPOUT_ATTENTION, eager_mask)


def attends_as_bert(encoder) -> bool:
    """Whether `encoder`'s eager attention is BERT's, line for line (RoBERTa, DistilBERT, ELECTRA ... share it), so
    that `eager_attention_sparse_dropout` can stand in for it. Others (grouped keys, soft-capping, attention
    sinks) keep their own eager attention."""
    own = getattr(sys.modules.get(type(encoder).__module__), "eager_attention_forward", None)
    if own is None or not getattr(encoder, "is_backend_compatible", lambda: False)():
        return False
    try:
        return own is modeling_bert.eager_attention_forward or (
            inspect.getsource(own).strip() == inspect.getsource(modeling_bert.eager_attention_forward).strip())
    except (OSError, TypeError):  # no source to compare
        return False


def _embedded_in_bf16(embeddings, *args, **kwargs):
    output = type(embeddings).forward(embeddings, *args, **kwargs)
    if isinstance(output, torch.Tensor) and output.dtype == torch.float32 \
            and torch.is_autocast_enabled(output.device.type) \
            and torch.get_autocast_dtype(output.device.type) == torch.bfloat16:  # fp16 residuals could overflow
        return output.to(torch.bfloat16)
    return output  # as it is: no bf16 autocast (evaluation in fp32, a reloaded model), or already cast


def carry_residual_stream_in_autocast_precision(encoder, enabled: bool = True) -> bool:
    """Under bf16 autocast, the embeddings' output (and so every layer's residual sum and layer norm input) in
    bf16 rather than fp32. Autocast leaves a layer norm's fp32 output in fp32, so each layer casts
    it again for its query, key, value and feed-forward inputs and adds the residuals in fp32; the layer norms
    still compute their statistics in fp32. The weights stay fp32; without autocast nothing changes
    (`set_forward` on the embeddings). `enabled=False` takes the setting off again. Returns whether the encoder
    has embeddings to set it on.

    A speed candidate only (`cookbook bench-speed`): on the AMD EPYC with AVX-512 bf16 it saved 0.2% to 4.8% of a
    training step, under the 5% a setting must save to be kept (benchmarks/README.md), so tuned runs leave it off."""
    embeddings = getattr(encoder, "embeddings", None)
    if not isinstance(embeddings, torch.nn.Module):
        return False
    set_forward([embeddings], _embedded_in_bf16, enabled)
    return True


ATTENTION_BEFORE = "_cookbook_attention_before"


def train_faster_on_a_cpu(model):
    """Eager attention, with dropout drawn sparsely where the encoder attends as BERT does; every `nn.Dropout`
    drawn sparsely. The weights and what is saved do not change; `without_speed_settings` undoes it."""
    encoder = model.base_model  # the part with attention (the model itself where it has no head)
    if not hasattr(encoder, ATTENTION_BEFORE):
        setattr(encoder, ATTENTION_BEFORE, encoder.config._attn_implementation)
    encoder.set_attn_implementation(SPARSE_DROPOUT_ATTENTION if attends_as_bert(encoder) else "eager")
    return draw_dropout_sparsely(model)


def without_speed_settings(model):
    """`model` with the attention it had before `train_faster_on_a_cpu`, PyTorch's dropout and an fp32 residual
    stream. A run calls it when training ends, so the test scores it reports come from the attention a reloaded
    model gets by default (the best epoch was still chosen on validation scores from the training attention); a
    model that was never set is returned as it is."""
    encoder = model.base_model
    if hasattr(encoder, ATTENTION_BEFORE):  # it may be None: a model built from a config that named none
        encoder.set_attn_implementation(getattr(encoder, ATTENTION_BEFORE))
        delattr(encoder, ATTENTION_BEFORE)
    carry_residual_stream_in_autocast_precision(encoder, enabled=False)
    return draw_dropout_sparsely(model, enabled=False)


def with_speed_settings(model, training: TrainingConfig):
    """`model`, set for a tuned run's training on a CPU (`train_faster_on_a_cpu`).
    - Attention as plain matrix multiplies (`eager`): with dropout on, PyTorch's fused kernel (`sdpa`) takes a
      slower path there. Eager saved 9% of a bf16 training step on an Intel Xeon with AMX, 1.4% and 13.7% (two
      runs) with AVX-512 bf16, and nothing in fp32.
    - Dropout's masks drawn sparsely, in the attention and in every `nn.Dropout`: PyTorch draws one random number
      an element, on one thread.
    GPUs keep the fused kernel and PyTorch's dropout, neither timed against these. The saved model keeps none of
    it: reloaded, it predicts with the fused kernel, faster without dropout; and once training ends the run sets
    the model back the same way (`without_speed_settings`)."""
    if training.speed != "tuned" or torch_device() != "cpu":
        return model
    return train_faster_on_a_cpu(model)
