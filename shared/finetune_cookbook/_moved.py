"""The package's module names before it was laid out by modality, kept importable: `finetune_cookbook.plots`,
`finetune_cookbook.sentence_classifier` and the rest still work in notebooks, scripts and model cards written
before the move, each name found in the module(s) it moved to. New code imports the new names."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

# old module -> the modules its names moved to, the main one first
MOVED = {
    "errors": ["core.errors"], "data": ["core.data", "core.io.readers"], "readers": ["core.io.readers", "core.io.formats"],
    "resolve": ["core.io.resolve"], "training": ["core.training"], "tuning": ["core.tuning"],
    "saving": ["core.saving"], "records": ["core.records"], "measure": ["core.measure"], "compare": ["core.compare"],
    "metrics": ["core.metrics"], "crossval": ["core.crossval"],
    "plots": ["core.plots", "text.plots", "tasks.intent.plots"],
    "modelcard": ["core.card", "text.card", "tasks.image_classification.card", "tasks.anomaly_detection.card",
                  "tasks.segmentation.card"],
    "few_shot": ["text.few_shot", "core.linear_probe"], "sentence_classifier": ["text.sentence_classifier"],
    "images": ["vision.images"], "image_sources": ["vision.sources"], "image_plots": ["vision.plots"],
    "backbones": ["vision.backbones"], "explain": ["vision.explain"],
    "tabular": ["tabular.columns", "core.data"], "tabular_data": ["tabular.data"], "tabular_model": ["tabular.model"],
    "pretraining": ["tabular.pretraining"],
    "bot": ["tasks.intent.bot"], "fallback": ["tasks.intent.fallback"],
    "rare_events": ["tasks.anomaly_detection.rare_events", "core.metrics"],
    "fraud_plots": ["tasks.anomaly_detection.plots"],
    "customers": ["tasks.segmentation.customers"], "customer_spaces": ["tasks.segmentation.spaces"],
    "segments": ["tasks.segmentation.segments"], "segment_plots": ["tasks.segmentation.plots"],
}
PACKAGE = __name__.rpartition(".")[0]


class _Merged(types.ModuleType):
    """An old module, standing for the module(s) its names now live in: each attribute is looked up in them in
    turn. It is a module of its own, so the import system's bookkeeping never renames the real ones."""

    def __init__(self, name: str, homes: list[types.ModuleType]):
        super().__init__(name, homes[0].__doc__)
        self._homes = homes

    def __getattr__(self, attribute: str):
        for home in self._homes:
            if hasattr(home, attribute):
                return getattr(home, attribute)
        raise AttributeError(f"module {self.__name__!r} has no attribute {attribute!r}")

    def __dir__(self):
        return sorted({name for home in self._homes for name in dir(home)})


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        old = fullname[len(PACKAGE) + 1:] if fullname.startswith(PACKAGE + ".") else None
        if old not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        homes = [importlib.import_module(f"{PACKAGE}.{new}") for new in MOVED[spec.name[len(PACKAGE) + 1:]]]
        return _Merged(spec.name, homes)

    def exec_module(self, module):
        pass  # the module it stands for has run already


def install() -> None:
    """Lets the old module names be imported (once per process)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
