"""A sentence encoder with a linear head on its sentence embedding, saved and loaded like any transformers model.

all-MiniLM-L6-v2 was trained to produce one embedding per sentence: the mean of its token vectors, at unit
length. transformers' own sequence-classification head reads the [CLS] token through a pooler layer that this
training never used. `SentenceClassifier` classifies from the embedding the encoder was trained to make, so a
linear probe fitted on the frozen embeddings is a good start for its head (LP-FT, see `text/few_shot.py`).

Both classes are registered with `AutoConfig`, `AutoModel` and `AutoModelForSequenceClassification`, so
`from_pretrained` and `pipeline("text-classification")` load a saved model once this module is imported
(`import finetune_cookbook.text.sentence_classifier`): safetensors and JSON, nothing unpickled, no remote code trusted.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

# Settings of the encoder's own checkpoint that do not describe its architecture (where it was read from, its
# own head's classes); the saved classifier's config.json carries the rest.
PER_MODEL_SETTINGS = {"_name_or_path", "architectures", "id2label", "label2id", "transformers_version"}


class SentenceClassifierConfig(PretrainedConfig):
    model_type = "cookbook_sentence_classifier"

    def __init__(self, encoder_settings: dict | None = None, **kwargs):
        self.encoder_settings = dict(encoder_settings or {})  # the encoder's own config.json, model_type included
        super().__init__(**kwargs)

    def encoder_config(self) -> PretrainedConfig:
        settings = dict(self.encoder_settings)
        return AutoConfig.for_model(settings.pop("model_type", "bert"), **settings)


class SentenceClassifier(PreTrainedModel):
    """Encoder, mean of the real tokens' vectors, unit length, linear head: returns `logits` (and `loss`)."""

    config_class = SentenceClassifierConfig
    base_model_prefix = "encoder"
    accepts_loss_kwargs = False  # forward returns the batch's mean loss: the Trainer must not rescale it

    def __init__(self, config: SentenceClassifierConfig):
        super().__init__(config)
        encoder_config = config.encoder_config()
        self.encoder = AutoModel.from_config(encoder_config)
        self.head = nn.Linear(encoder_config.hidden_size, config.num_labels)
        self.post_init()

    def _init_weights(self, module):
        # Weights from a checkpoint are kept; only a head missing from it starts as nn.Linear does.
        if module is self.head:
            module.reset_parameters()

    @classmethod
    def from_encoder(cls, encoder_path: str, labels: list[str], coef: np.ndarray | None = None,
                     intercept: np.ndarray | None = None) -> SentenceClassifier:
        """The pre-trained encoder at `encoder_path` (or the encoder of a saved `SentenceClassifier`) with a head
        for `labels`: the given weights (a probe's, one row per label), or a seeded random start."""
        encoder = AutoModel.from_pretrained(encoder_path)
        if isinstance(encoder, SentenceClassifier):  # fine-tuning an earlier run's model further
            encoder = encoder.encoder
        settings = {key: value for key, value in encoder.config.to_dict().items() if key not in PER_MODEL_SETTINGS}
        config = SentenceClassifierConfig(
            encoder_settings=settings, num_labels=len(labels),
            id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
        model = cls(config)
        model.encoder = encoder
        if coef is not None:
            with torch.no_grad():
                model.head.weight.copy_(torch.as_tensor(coef, dtype=torch.float32))
                model.head.bias.copy_(torch.as_tensor(intercept, dtype=torch.float32))
        return model

    def sentence_embedding(self, input_ids, attention_mask=None, token_type_ids=None) -> torch.Tensor:
        """The mean of the real tokens' vectors, at unit length: what the head reads."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:  # encoders such as DistilBERT take none
            inputs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**inputs).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return F.normalize(pooled.float(), dim=-1)

    @torch.no_grad()
    def embed(self, tokenizer, texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
        """`sentence_embedding` of every text, in order, in evaluation mode (batches of similar lengths)."""
        was_training = self.training
        self.eval()
        order = np.argsort([len(text) for text in texts], kind="stable")
        embeddings = np.zeros((len(texts), self.head.in_features), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            batch = tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=max_length,
                              return_tensors="pt").to(self.device)
            embeddings[rows] = self.sentence_embedding(**batch).cpu().numpy()
        self.train(was_training)
        return embeddings

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, **_):
        logits = self.head(self.sentence_embedding(input_ids, attention_mask, token_type_ids))
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


AutoConfig.register(SentenceClassifierConfig.model_type, SentenceClassifierConfig, exist_ok=True)
AutoModelForSequenceClassification.register(SentenceClassifierConfig, SentenceClassifier, exist_ok=True)
AutoModel.register(SentenceClassifierConfig, SentenceClassifier, exist_ok=True)
