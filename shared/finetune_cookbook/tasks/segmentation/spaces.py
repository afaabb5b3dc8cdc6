"""The feature spaces customers are clustered in: the file's columns standardised, RFM, and a tabular
encoder's embeddings. Each is fitted on the training customers only, then maps any customers to points."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from finetune_cookbook.tabular.columns import TabularEncoder, model_columns
from finetune_cookbook.tabular.model import RowEncoder, TabularForClassification, row_embeddings
from finetune_cookbook.tasks.segmentation.customers import AGE, FREQUENCY, MONETARY, RFM, TENURE

CLIP_QUANTILES = (0.01, 0.99)  # k-means on standardised values is pulled by extremes: clip to the 1st-99th percentile


class QuantileClipper(BaseEstimator, TransformerMixin):
    """Clips each column to the training customers' 1st and 99th percentiles (winsorising), so an income of
    666,666 does not get a segment of its own."""

    def fit(self, values, y=None):
        values = np.asarray(values, dtype=np.float64)
        self.low_, self.high_ = np.nanquantile(values, CLIP_QUANTILES[0], axis=0), np.nanquantile(values, CLIP_QUANTILES[1], axis=0)
        return self

    def transform(self, values):
        return np.clip(np.asarray(values, dtype=np.float64), self.low_, self.high_)


class ColumnSpace:
    """k-means on standardised columns: numbers imputed (median), clipped and standardised; categories one-hot."""

    def __init__(self, kinds: dict[str, str], origin: str, log_columns: tuple[str, ...] = (), min_category_count: int = 5):
        self.kinds, self.origin, self.log_columns = kinds, origin, log_columns
        self.min_category_count = min_category_count

    def _columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        columns = model_columns(frame, self.kinds, self.origin)
        for column in self.log_columns:  # spend and counts are skewed: their logarithm clusters better
            columns[column] = np.log1p(columns[column].clip(lower=0))
        return columns

    def fit(self, frame: pd.DataFrame) -> ColumnSpace:
        columns = self._columns(frame)
        numbers = list(columns.select_dtypes("number").columns)
        text = [c for c in columns.columns if c not in numbers]
        transformers = [("numbers", make_pipeline(SimpleImputer(strategy="median"), QuantileClipper(), StandardScaler()), numbers)]
        if text:
            transformers.append(("categories", OneHotEncoder(handle_unknown="infrequent_if_exist",
                                                             min_frequency=self.min_category_count), text))
        self.transformer = ColumnTransformer(transformers, sparse_threshold=0).fit(columns)
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.transformer.transform(self._columns(frame)), dtype=np.float64)


def raw_space(kinds: dict[str, str], engineered: list[str], origin: str, min_category_count: int) -> ColumnSpace:
    """The file's own columns (the join date as tenure, the birth year as age), without the engineered ones."""
    own = {c: kind for c, kind in kinds.items() if c not in engineered or c in (AGE, TENURE)}
    return ColumnSpace(own, origin, min_category_count=min_category_count)


def rfm_space(engineered: list[str], origin: str) -> ColumnSpace:
    """Recency, frequency and monetary value (the last two as logarithms), standardised."""
    kinds = {c: "numeric" for c in RFM if c in engineered}
    return ColumnSpace(kinds, origin, log_columns=tuple(c for c in (FREQUENCY, MONETARY) if c in kinds))


class EmbeddingSpace:
    """A tabular model's [CLS] row embeddings, standardised on the training customers.

    With `weights` (a network trained on the responses: `response_weights`), each embedding dimension is taken
    as the head sees it (after its ReLU) and scaled by its weight in the response logit, all by one common
    scale: distances then count what matters to the response, and clusters separate who responds."""

    def __init__(self, encoder: RowEncoder, tabular_encoder: TabularEncoder, origin: str, weights: np.ndarray | None = None):
        self.encoder, self.tabular_encoder, self.origin = encoder, tabular_encoder, origin
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)

    def embed(self, frame: pd.DataFrame) -> np.ndarray:
        rows = self.tabular_encoder.encode(frame, self.origin)
        embeddings = row_embeddings(self.encoder, rows.numeric, rows.categorical).astype(np.float64)
        return embeddings if self.weights is None else np.maximum(embeddings, 0) * self.weights

    def fit(self, frame: pd.DataFrame) -> EmbeddingSpace:
        embeddings = self.embed(frame)
        self.mean, spread = embeddings.mean(axis=0), embeddings.std(axis=0)
        self.scale = spread if self.weights is None else np.full_like(spread, spread.mean())
        self.scale[self.scale == 0] = 1.0
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        return (self.embed(frame) - self.mean) / self.scale


def response_weights(model: TabularForClassification) -> np.ndarray:
    """How much each embedding dimension moves the response logit: |w_responded - w_not| of the head."""
    weight = model.head[-1].weight.detach().float().cpu().numpy()
    return np.abs(weight[1] - weight[0])
