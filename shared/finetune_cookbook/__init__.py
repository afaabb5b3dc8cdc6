"""finetune_cookbook: the helper package behind every notebook and recipe of the fine-tuning cookbook.

Layers, each importing only those below it (docs/architecture.md): `core` (shared by every domain), the
modalities `text`, `vision` and `tabular`, `tasks` (one sub-package per kind of model, found through its
registry), and the commands (`cli`, `recipe`, `config`, `bench`, `notebooks`).
"""

from finetune_cookbook import _moved

__version__ = "0.1.0"

_moved.install()
