"""The project's own pre-trained tabular model: an FT-Transformer pre-trained to rebuild rows whose columns were
partly hidden.

Every column becomes a token (numbers through periodic embeddings, categories through embedding tables), a
[CLS] token attends over them, and the [CLS] representation is the row's embedding. Pre-training hides a random
share of each row's columns and asks the model to rebuild them from the [CLS] representation alone, so it must
learn how columns go together. A row that is hard to rebuild is unusual: the reconstruction error is already an
anomaly score. Fine-tuning puts a small head on the same [CLS] representation.

Two ways to hide a column (`corruption`):
- `mask_token`: a learned token that says only which column is hidden; the model rebuilds the hidden columns.
- `swap`: the same column's value from another row of the batch (a draw from the column's own distribution), so
  every input looks like real data, as fine-tuning's inputs do; the model rebuilds every column of the clean row
  (a denoising objective, as in Rubachev et al., 2022, "Revisiting pretraining objectives for tabular deep
  learning").

Optionally (`contrastive_weight`), a contrastive term joins the rebuilding: two corruptions of each row must pick
each other out among the batch's other rows (SCARF-like), which spreads rows that differ apart in the embedding.

The pieces are `rtdl_revisiting_models` (FT-Transformer blocks) and `rtdl_num_embeddings` (periodic numeric
embeddings); a `PretrainedConfig` / `PreTrainedModel` pair gives `save_pretrained` / `from_pretrained` as for
any other model (safetensors and config.json).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from rtdl_num_embeddings import PeriodicEmbeddings
from rtdl_revisiting_models import CategoricalEmbeddings, FTTransformerBackbone
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel

SCORE_SEED = 0


class TabularModelConfig(PretrainedConfig):
    model_type = "cookbook_tabular"

    def __init__(self, n_numeric: int = 0, cardinalities: list[int] | None = None, d_token: int = 64,
                 n_blocks: int = 2, n_heads: int = 8, attention_dropout: float = 0.1, ffn_dropout: float = 0.1,
                 residual_dropout: float = 0.0, mask_rate: float = 0.3, augment_mask_rate: float = 0.0,
                 corruption: str = "mask_token", contrastive_weight: float = 0.0, num_labels: int = 2,
                 surprise_mean: list[float] | None = None, surprise_std: list[float] | None = None,
                 anomaly_score: str = "each_hidden", usual_without_context: list[list[float]] | None = None,
                 score_scales: dict[str, list[float]] | None = None, prior_scale: list[float] | None = None,
                 **kwargs):
        self.n_numeric = n_numeric
        self.cardinalities = list(cardinalities or [])
        self.d_token = d_token
        self.n_blocks = n_blocks
        self.n_heads = n_heads
        self.attention_dropout = attention_dropout
        self.ffn_dropout = ffn_dropout
        self.residual_dropout = residual_dropout
        self.mask_rate = mask_rate
        self.augment_mask_rate = augment_mask_rate
        self.corruption = corruption
        self.contrastive_weight = contrastive_weight
        # Each column's rebuilding loss on the training rows (mean, spread), set after pre-training: the anomaly
        # score measures a row's columns against them. Unset (a checkpoint from before): the plain mean loss.
        self.surprise_mean = surprise_mean
        self.surprise_std = surprise_std
        # Which score `anomaly_scores` gives (ANOMALY_SCORES), and what the `all_hidden` and `either` scores measure
        # against: each column's all-hidden loss on the training rows (quantiles), each score's mean and spread.
        self.anomaly_score = anomaly_score
        self.usual_without_context = usual_without_context
        self.score_scales = score_scales
        # A classifier that adds the pre-trained anomaly score to its positive logit (`TabularForClassification`):
        # the score's mean and spread on the training rows, which put it in standard units. None: no prior.
        self.prior_scale = prior_scale
        super().__init__(num_labels=num_labels, **kwargs)

    @property
    def n_features(self) -> int:
        return self.n_numeric + len(self.cardinalities)


class RowEncoder(nn.Module):
    """Columns to tokens, optional hiding (`config.corruption`), transformer, the [CLS] representation."""

    def __init__(self, config: TabularModelConfig):
        super().__init__()
        self.corruption = config.corruption
        d = config.d_token
        self.numeric_tokens = PeriodicEmbeddings(config.n_numeric, d, lite=False) if config.n_numeric else None
        self.category_tokens = CategoricalEmbeddings(config.cardinalities, d) if config.cardinalities else None
        self.cls = nn.Parameter(torch.empty(d).uniform_(-d**-0.5, d**-0.5))
        self.mask_tokens = nn.Parameter(torch.empty(config.n_features, d).uniform_(-d**-0.5, d**-0.5))
        self.backbone = FTTransformerBackbone(
            d_out=None, n_blocks=config.n_blocks, d_block=d, attention_n_heads=config.n_heads,
            attention_dropout=config.attention_dropout, ffn_d_hidden=None, ffn_d_hidden_multiplier=4 / 3,
            ffn_dropout=config.ffn_dropout, residual_dropout=config.residual_dropout,
        )
        self.normalisation = nn.LayerNorm(d)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None and self.corruption == "swap":  # hidden behind other rows' values, not the mask tokens
            numeric, categorical = swap_columns(numeric, categorical, mask)
            mask = None
        tokens = []
        if self.numeric_tokens is not None:
            tokens.append(self.numeric_tokens(numeric))
        if self.category_tokens is not None:
            tokens.append(self.category_tokens(categorical))
        x = torch.cat(tokens, dim=1)
        if mask is not None:  # a hidden column shows only which column it is
            x = torch.where(mask.unsqueeze(-1), self.mask_tokens.to(x.dtype).expand_as(x), x)
        x = torch.cat([self.cls.to(x.dtype).expand(x.shape[0], 1, -1), x], dim=1)
        return self.normalisation(self.backbone(x))


class TabularPreTrainedModel(PreTrainedModel):
    config_class = TabularModelConfig
    base_model_prefix = "encoder"
    main_input_name = "numeric"

    def _init_weights(self, module):
        # Weights from a checkpoint are kept; a new head (missing from the checkpoint) starts as nn.Linear does.
        if isinstance(module, nn.Linear):
            module.reset_parameters()


def random_mask(shape: tuple[int, int], rate: float, generator: torch.Generator | None = None,
                device=None, at_least_one: bool = True) -> torch.Tensor:
    """Hides each column with probability `rate` (and, with `at_least_one`, one column of every row at least)."""
    mask = torch.rand(shape, generator=generator, device=device) < rate
    if not at_least_one:
        return mask
    forced = torch.randint(shape[1], (shape[0],), generator=generator, device=device)
    mask[torch.arange(shape[0], device=device), forced] = True
    return mask


def swap_columns(numeric: torch.Tensor, categorical: torch.Tensor,
                 mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each hidden cell (`mask`, numbers first) takes the same column's value from a random row of the batch (the
    row itself once in a batch's size: a draw from the column's own values)."""
    rows = len(numeric)
    donors = torch.randint(rows, tuple(mask.shape), device=mask.device)
    columns = torch.arange(mask.shape[1], device=mask.device)
    n_numeric = numeric.shape[1]
    numeric = torch.where(mask[:, :n_numeric], numeric[donors[:, :n_numeric], columns[:n_numeric]], numeric)
    categorical = torch.where(mask[:, n_numeric:], categorical[donors[:, n_numeric:], columns[n_numeric:] - n_numeric],
                              categorical)
    return numeric, categorical


def matching_views_loss(first: torch.Tensor, second: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """InfoNCE over a batch, as in SCARF (Bahri et al., 2022), though both views here are corrupted: each row's two
    views must find each other among the other rows' views, so rows that differ get embeddings that differ. In fp32,
    autocast or not: bf16 similarities would round the small differences the loss is made of. At temperature 1 even
    matching views cost about log(batch size) - 1, so the logged pre-training loss carries that offset."""
    with torch.autocast(first.device.type, enabled=False):
        first, second = F.normalize(first.float(), dim=1), F.normalize(second.float(), dim=1)
        similarities = first @ second.T / temperature
        rows = torch.arange(len(first), device=first.device)
        return (F.cross_entropy(similarities, rows) + F.cross_entropy(similarities.T, rows)) / 2


class TabularForMaskedFeatures(TabularPreTrainedModel):
    """Pre-training: rebuild the hidden columns (`mask_token`) or the whole clean row (`swap`) from the [CLS]
    representation."""

    def __init__(self, config: TabularModelConfig):
        super().__init__(config)
        self.encoder = RowEncoder(config)
        self.numeric_head = nn.Linear(config.d_token, config.n_numeric) if config.n_numeric else None
        self.category_heads = nn.ModuleList(nn.Linear(config.d_token, n) for n in config.cardinalities)
        d = config.d_token
        self.projection = (nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
                           if config.contrastive_weight > 0 else None)
        self.post_init()

    def column_losses(self, numeric, categorical, mask: torch.Tensor | None) -> torch.Tensor:
        """Every column's reconstruction loss (rows x columns) once the `mask` columns are hidden (None: the row as
        it is)."""
        return self._rebuilding_losses(self.encoder(numeric, categorical, mask).float(), numeric, categorical)

    def _rebuilding_losses(self, hidden, numeric, categorical) -> torch.Tensor:
        losses = []
        if self.numeric_head is not None:
            losses.append(F.mse_loss(self.numeric_head(hidden), numeric.float(), reduction="none"))
        for i, head in enumerate(self.category_heads):
            # the cross-entropy, written out: the ONNX export cannot decompose F.cross_entropy(reduction="none")
            losses.append(-F.log_softmax(head(hidden), dim=-1).gather(1, categorical[:, i:i + 1]))
        return torch.cat(losses, dim=1)

    def forward(self, numeric, categorical, labels=None, mask=None):
        if mask is None:
            mask = random_mask(numeric.shape[:1] + (self.config.n_features,), self.config.mask_rate, device=numeric.device)
        hidden = self.encoder(numeric, categorical, mask).float()
        losses = self._rebuilding_losses(hidden, numeric, categorical)
        hidden_losses = losses * mask
        # A swapped value looks real, so the model must also tell which values are wrong: it answers for every column.
        loss = losses.mean() if self.config.corruption == "swap" else hidden_losses.sum() / mask.sum()
        # Training only: the reported loss of evaluation and the anomaly score stay the rebuilding alone, and
        # fine-tuning can drop the projection. The rebuilding pass's corrupted row is one view; the second costs
        # one more encoder pass.
        if self.projection is not None and self.training:
            second_mask = random_mask(mask.shape, self.config.mask_rate, device=numeric.device)
            second_view = self.encoder(numeric, categorical, second_mask)
            loss = loss + self.config.contrastive_weight * matching_views_loss(self.projection(hidden),
                                                                               self.projection(second_view))
        return {"loss": loss, "logits": hidden_losses.sum(1, keepdim=True) / mask.sum(1, keepdim=True)}

    @torch.no_grad()
    def column_surprise(self, numeric: np.ndarray, categorical: np.ndarray, batch_size: int = 1024,
                        hide: str = "each") -> np.ndarray:
        """Each column's rebuilding loss (rows x columns), every row on its own. `hide="each"`, `mask_token`: each
        column hidden alone and rebuilt from all the others (one pass per column); `swap`: every column rebuilt
        from the row as it is (swapped values would come from the other rows scored with it). `hide="all"`
        (`mask_token` only): every column hidden at once, so each is compared with what the model expects of it
        knowing nothing else about the row, its usual value."""
        self.eval()
        n, width = len(numeric), self.config.n_features
        out = np.zeros((n, width), dtype=np.float32)
        batch_size = batch_size if hide == "all" else self._rows_hidden_in_turn(batch_size)
        for start in range(0, n, batch_size):
            part = slice(start, start + batch_size)
            x_num = torch.as_tensor(numeric[part], device=self.device)
            x_cat = torch.as_tensor(categorical[part], device=self.device)
            if hide == "all":
                mask = torch.ones(len(x_num), width, dtype=torch.bool, device=self.device)
                out[part] = self.column_losses(x_num, x_cat, mask).cpu().numpy()
            else:
                out[part] = self.each_hidden_losses(x_num, x_cat).cpu().numpy()
        return out

    def each_hidden_losses(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        """Each column's rebuilding loss over a batch (rows x columns), the column hidden alone and rebuilt from
        the others; `swap`: every column rebuilt from the row as it is."""
        return self.hidden_losses(numeric, categorical)[0]

    def hidden_losses(self, numeric: torch.Tensor, categorical: torch.Tensor, alone: bool = True,
                      all_at_once: bool = False) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Each column's rebuilding loss over a batch (rows x columns) with it hidden `alone` (the others shown),
        and with `all_at_once` hidden, as (alone, all at once); a kind not asked for is None. One pass over copies
        of the batch, one per way of hiding (copy j hides column j), rather than a pass each: the ONNX export then
        traces the encoder once (on the 13-column card sample, 31.6 s of export instead of 173 s). A `swap` model
        rebuilds every column from the row as it is for `alone`, and has no all-at-once losses."""
        if self.config.corruption == "swap":
            return self.column_losses(numeric, categorical, None) if alone else None, None
        width, rows = self.config.n_features, numeric.shape[0]
        columns = torch.arange(width, device=numeric.device)
        ways = [columns.unsqueeze(1) == columns] if alone else []
        ways += [torch.ones(1, width, dtype=torch.bool, device=numeric.device)] if all_at_once else []
        hidden = torch.cat(ways)
        copies = hidden.shape[0]
        mask = hidden.unsqueeze(1).expand(copies, rows, width).reshape(-1, width)
        parts = [part.unsqueeze(0).expand(copies, *part.shape).reshape(-1, part.shape[1])
                 for part in (numeric, categorical)]
        losses = self.column_losses(*parts, mask).reshape(copies, rows, width)
        return (torch.diagonal(losses[:width], dim1=0, dim2=2) if alone else None,  # copy j's loss on column j
                losses[-1] if all_at_once else None)

    def _rows_hidden_in_turn(self, batch_size: int) -> int:
        """Rows per `each_hidden_losses` pass, whose batch is a copy of them per column: about `batch_size` copies
        (on a 2-core CPU, 1024 rows of 13 columns at once ran a third slower a row than 80)."""
        return max(1, batch_size // self.config.n_features) if self.config.corruption != "swap" else batch_size

    def calibrate_surprise(self, numeric: np.ndarray, categorical: np.ndarray, rows: int = 2000) -> None:
        """Records each column's losses on (at most `rows` seeded) training rows, and each score's mean and
        spread there, for `anomaly_scores`."""
        chosen = np.random.default_rng(SCORE_SEED).permutation(len(numeric))[:rows]
        numeric, categorical = numeric[chosen], categorical[chosen]
        losses = self.column_surprise(numeric, categorical).astype(np.float64)
        self.config.surprise_mean = losses.mean(0).tolist()
        self.config.surprise_std = (losses.std(0) + 1e-6).tolist()
        self.config.score_scales = None
        if self.config.corruption == "swap":  # `all_hidden` needs the mask tokens: such a model keeps `each_hidden`
            self.config.usual_without_context = None
            return
        alone = self.column_surprise(numeric, categorical, hide="all").astype(np.float64)
        self.config.usual_without_context = np.quantile(alone, TAIL_LEVELS, axis=0).T.tolist()
        self.config.score_scales = {kind: [float(s.mean()), float(s.std() + 1e-6)] for kind, s in
                                    self.scores_by_kind(numeric, categorical, ANOMALY_SCORES[:2]).items()}

    @torch.no_grad()
    def scores_by_kind(self, numeric: np.ndarray, categorical: np.ndarray, kinds, batch_size: int = 1024
                       ) -> dict[str, np.ndarray]:
        """Each of `kinds` of anomaly score (see `anomaly_scores`) for every row, the passes they share made once."""
        self.eval()
        rows = batch_size if set(kinds) == {"all_hidden"} else self._rows_hidden_in_turn(batch_size)
        parts = [self.batch_scores(torch.as_tensor(numeric[i:i + rows], device=self.device),
                                   torch.as_tensor(categorical[i:i + rows], device=self.device), *kinds)
                 for i in range(0, len(numeric), rows)]
        return {kind: np.concatenate([np.zeros(0)] + [part[kind].cpu().numpy().astype(np.float64) for part in parts])
                for kind in kinds}

    @torch.no_grad()
    def anomaly_scores(self, numeric: np.ndarray, categorical: np.ndarray, batch_size: int = 1024,
                       kind: str | None = None) -> np.ndarray:
        """How unusual each row is to the pre-trained model: higher is stranger. `kind` (default: the config's
        `anomaly_score`), each measured against the training rows:
        - `each_hidden`: each column hidden alone and rebuilt from the others; its loss in standard deviations of
          that column's usual loss, averaged over the columns. A value that breaks the way columns go together.
          (Without the standardising, the columns that are always hard to guess drowned the rest: validation AP
          0.007 on the card sample, against 0.217.)
        - `all_hidden`: every column hidden at once, so each value is set against the model's expectation of it
          knowing nothing else; how rare each column's loss is among the training rows' (a tail probability),
          combined over the columns as Fisher's method does (the sum of -log p). An extreme value on its own.
        - `either`: the stranger of the two, each in standard deviations of its own score on the training rows.
        A checkpoint saved before these were recorded keeps what it had: the plain mean loss, or `each_hidden`;
        a `swap` model has no `all_hidden` and gives `each_hidden`."""
        if self.config.surprise_mean is None:
            return self.column_surprise(numeric, categorical, batch_size).astype(np.float64).mean(1)
        kind = self.score_kind(kind)
        return self.scores_by_kind(numeric, categorical, (kind,), batch_size)[kind]

    def score_kind(self, kind: str | None = None) -> str:
        """The score this checkpoint gives for `kind` (default: the config's `anomaly_score`): one calibrated
        without every column hidden (a `swap` model, or one saved before) has `each_hidden` only."""
        return "each_hidden" if self.config.usual_without_context is None else kind or self.config.anomaly_score

    def batch_scores(self, numeric: torch.Tensor, categorical: torch.Tensor, *kinds: str) -> dict[str, torch.Tensor]:
        """A batch's anomaly score of each of `kinds` (see `anomaly_scores`) as one torch computation: what
        `anomaly_scores` batches, and what the ONNX export of a prior-start network traces, so both score alike."""
        found, each, every = {}, bool(set(kinds) - {"all_hidden"}), bool(set(kinds) - {"each_hidden"})
        alone, at_once = self.hidden_losses(numeric, categorical, each, every)
        if each:
            mean, std = (torch.tensor(v, dtype=alone.dtype, device=alone.device)
                         for v in (self.config.surprise_mean, self.config.surprise_std))
            found["each_hidden"] = ((alone - mean) / std).mean(1)
        if every:
            found["all_hidden"] = fisher_surprise(at_once, self.config.usual_without_context)
        if "either" in kinds:
            scales = self.config.score_scales
            found["either"] = torch.maximum(*((found[k] - scales[k][0]) / scales[k][1] for k in ANOMALY_SCORES[:2]))
        return found


ANOMALY_SCORES = ("each_hidden", "all_hidden", "either")
TAIL_LEVELS = np.linspace(0, 1, 201)  # the quantiles of the training rows' losses a checkpoint keeps
TOP_TOLERANCE = 1e-4  # relative: how far past the largest training loss a loss must be to count as beyond it


def fisher_surprise(losses: torch.Tensor, quantiles, rows: int = 2000) -> torch.Tensor:
    """Each loss's (rows x columns) tail probability among the training rows' (`quantiles`: columns x TAIL_LEVELS,
    from `rows` rows), combined over the columns as Fisher's method does: the sum of -log p. A loss beyond every
    training row's counts as one row in `rows + 1`. Written with comparisons and gathers, which the ONNX export
    traces, rather than a sorted search."""
    # torch only (the export traces it), from a checkpoint's lists: the export refuses numpy in a traced forward
    knots = torch.tensor(quantiles, dtype=losses.dtype, device=losses.device)
    levels = torch.linspace(0, 1, knots.shape[1], dtype=losses.dtype, device=losses.device)  # TAIL_LEVELS
    # A loss many rows share (a column's most common category) repeats among the quantiles: it takes the level
    # where it first appears, so the usual value is not rare. The first appearance of knot k is the count below it.
    first_level = levels[(knots.unsqueeze(1) < knots.unsqueeze(2)).sum(2)]  # columns x knots
    values = losses.T  # columns x rows
    above = (knots.unsqueeze(1) < values.unsqueeze(2)).sum(2)  # the first knot at or above each value
    upper = above.clamp(1, knots.shape[1] - 1)
    low_value, high_value = knots.gather(1, upper - 1), knots.gather(1, upper)
    low_level, high_level = first_level.gather(1, upper - 1), first_level.gather(1, upper)
    between = ((values - low_value) / (high_value - low_value).clamp_min(1e-12)).clamp(0, 1)
    level = low_level + between * (high_level - low_level)  # linear between the knots either side
    # Beyond every training row's by more than float noise: a loss tied at the top knot (a rare category's, which
    # the quantiles repeat) would otherwise jump to the rarest level on a rounding difference between batches or
    # between PyTorch and ONNX Runtime.
    top = knots[:, -1:]
    beyond = values > top + TOP_TOLERANCE * top.abs().clamp_min(1.0)
    level = torch.where(beyond, torch.ones_like(level), level)
    level = torch.where(above == 0, torch.zeros_like(level), level)  # at or below the smallest
    return -torch.log((1 - level).clamp_min(1 / (rows + 1))).sum(0)  # level lies in [0, 1]


class TabularForClassification(TabularPreTrainedModel):
    """Fine-tuning: a head on the [CLS] representation; returns `logits` (and `loss` with labels).

    With `config.prior_scale` set, each row's `prior` (the pre-trained anomaly score in standard units, see
    `standard_prior`) is added to the positive logit, times a learned weight that starts at 1. A head that starts
    at zero then ranks rows exactly as the pre-trained score does, and the labels adjust that ranking rather than
    build one from nothing; the weight lets them turn a useless prior down."""

    def __init__(self, config: TabularModelConfig):
        super().__init__(config)
        self.encoder = RowEncoder(config)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(config.d_token, config.num_labels))
        self.prior_weight = nn.Parameter(torch.ones(())) if config.prior_scale is not None else None
        self.post_init()

    @property
    def has_prior(self) -> bool:
        return self.prior_weight is not None

    def forward(self, numeric, categorical, labels=None, prior=None):
        mask = None
        if self.training and self.config.augment_mask_rate:
            # Hiding a few columns of each labelled row, the way pre-training hid them, is an augmentation the
            # pre-trained model already understands: with few labels it cannot lean on one column alone.
            mask = random_mask((len(numeric), self.config.n_features), self.config.augment_mask_rate,
                               device=numeric.device, at_least_one=False)
        logits = self.head(self.encoder(numeric, categorical, mask)).float()
        if self.has_prior:
            if prior is None:
                raise ValueError("this classifier adds the pre-trained anomaly score to its fraud logit: pass `prior`")
            shift = self.prior_weight.float() * prior.float()
            logits = logits + torch.stack([torch.zeros_like(shift), shift], dim=1)
        output = {"logits": logits}
        if labels is not None:
            output["loss"] = F.cross_entropy(logits, labels)
        return output


class PriorScored(nn.Module):
    """A classifier of the prior start and the pre-trained model that scores its prior (its `anomaly_score`), as one
    module from encoded rows to logits: what the ONNX export traces, so the exported graph needs nothing beside it."""

    def __init__(self, classifier: TabularForClassification, scorer: TabularForMaskedFeatures):
        super().__init__()
        self.classifier, self.scorer = classifier, scorer
        self.config = classifier.config

    def forward(self, numeric, categorical):
        mean, std = self.config.prior_scale
        kind = self.scorer.score_kind()
        prior = (self.scorer.batch_scores(numeric, categorical, kind)[kind] - mean) / std
        return self.classifier(numeric, categorical, prior=prior)


def standard_prior(scores: np.ndarray, scale: list[float]) -> np.ndarray:
    """Anomaly scores in standard units of the training rows' (`scale`: their mean and spread), as a prior."""
    return ((np.asarray(scores, dtype=np.float64) - scale[0]) / scale[1]).astype(np.float32)


@torch.no_grad()
def row_embeddings(encoder: RowEncoder, numeric: np.ndarray, categorical: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The [CLS] representation of every row, in evaluation mode."""
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.parameters()).device
    parts = [
        encoder(torch.as_tensor(numeric[i:i + batch_size], device=device),
                torch.as_tensor(categorical[i:i + batch_size], device=device)).float().cpu().numpy()
        for i in range(0, len(numeric), batch_size)
    ]
    encoder.train(was_training)
    return np.concatenate(parts) if parts else np.zeros((0, encoder.cls.shape[0]), dtype=np.float32)
