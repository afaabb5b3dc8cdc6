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
    "tabular_data": ["tabular.data"], "tabular_model": ["tabular.model"],
    "pretraining": ["tabular.pretraining"],
    "bot": ["tasks.intent.bot"], "fallback": ["tasks.intent.fallback"],
    "rare_events": ["tasks.anomaly_detection.rare_events", "core.metrics"],
    "fraud_plots": ["tasks.anomaly_detection.plots"],
    "customers": ["tasks.segmentation.customers"], "customer_spaces": ["tasks.segmentation.spaces"],
    "segments": ["tasks.segmentation.segments"], "segment_plots": ["tasks.segmentation.plots"],
}
# names that changed as they moved: old module -> {old name: new name}
RENAMED = {"records": {"HEADLINE_METRICS": "SHOWN_WITHOUT_HEADLINE"}}
PACKAGE = __name__.rpartition(".")[0]


class _Merged(types.ModuleType):
    """An old module, standing for the module(s) its names now live in: each attribute is looked up in them in
    turn, and setting or deleting one (`mock.patch`, `monkeypatch`) acts on the module that holds it. It is a module
    of its own, so the import system's bookkeeping never renames the real ones; `importlib.reload` of it reloads
    nothing (reload the new module instead)."""

    def __init__(self, name: str, homes: list[types.ModuleType], renamed: dict[str, str]):
        super().__init__(name, homes[0].__doc__)
        object.__setattr__(self, "_homes", homes)
        object.__setattr__(self, "_renamed", renamed)
        object.__setattr__(self, "__all__", sorted({n for home in homes for n in vars(home) if not n.startswith("_")}
                                                   | set(renamed)))

    def _home_of(self, attribute: str) -> tuple[types.ModuleType | None, str]:
        attribute = self._renamed.get(attribute, attribute)
        return next((home for home in self._homes if hasattr(home, attribute)), None), attribute

    def __getattr__(self, attribute: str):
        home, attribute = self._home_of(attribute)
        if home is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {attribute!r}")
        return getattr(home, attribute)

    def __setattr__(self, attribute: str, value) -> None:
        if attribute.startswith("__"):  # the import system's own bookkeeping stays on this module
            object.__setattr__(self, attribute, value)
            return
        home, attribute = self._home_of(attribute)
        setattr(home or self._homes[0], attribute, value)

    def __delattr__(self, attribute: str) -> None:
        home, attribute = self._home_of(attribute)
        if home is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {attribute!r}")
        delattr(home, attribute)

    def __dir__(self):
        return sorted({name for home in self._homes for name in dir(home)} | set(self._renamed))


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        old = fullname[len(PACKAGE) + 1:] if fullname.startswith(PACKAGE + ".") else None
        if old not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        old = spec.name[len(PACKAGE) + 1:]
        return _Merged(spec.name, [importlib.import_module(f"{PACKAGE}.{new}") for new in MOVED[old]],
                       RENAMED.get(old, {}))

    def exec_module(self, module):
        pass  # the module it stands for has run already


def install() -> None:
    """Lets the old module names be imported (once per process)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
