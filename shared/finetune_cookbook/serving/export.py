"""`cookbook export`: a run's model as a folder that predicts with onnxruntime and numpy alone.

The task writes the graph(s), `runtime.py` and `export.json` (its optional `export` step); this adds what every
export carries: the task, versions, what parity was measured on, and a README that shows how to call it. The
folder is written beside and swapped in whole, so a failed export leaves the previous one.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from pathlib import Path

from finetune_cookbook import __version__
from finetune_cookbook.config import load_config
from finetune_cookbook.core.config import CONFIG_FILE
from finetune_cookbook.core.errors import ConfigError, CookbookError
from finetune_cookbook.core.saving import model_folder, read_model_info, save_atomically
from finetune_cookbook.tasks import get_task

EXPORT_DIR = "export"
EXPORT_FILE = "export.json"
RUNTIME_FILE = "runtime.py"
FORMAT_VERSION = 1
NEEDS = {"text": "onnxruntime numpy tokenizers", "image": "onnxruntime numpy pillow", "tabular": "onnxruntime numpy"}


def versions() -> dict[str, str]:
    found = {"finetune_cookbook": __version__, "python": platform.python_version()}
    for package in ("torch", "transformers", "onnx", "onnxruntime", "tokenizers"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def run_data(model_dir: Path, task):
    """The run's data read again through the config saved with the model, for parity on its own test split; None
    (and why) when it cannot be (the data moved, or the model was saved without its config)."""
    config_file = model_dir / CONFIG_FILE
    if not config_file.is_file():
        return None, f"no {CONFIG_FILE} in {model_dir}"
    try:
        return task.load_data(load_config(config_file)), None
    except (CookbookError, OSError) as error:
        return None, f"the run's data could not be read again ({str(error).splitlines()[0][:200]})"


def export_run(run: str | Path, output: str | Path | None = None, quantize: str | None = None) -> tuple[Path, dict]:
    """Exports the model of `run` (a run's output folder or its model folder) to `output` (default
    `<run>/export`); returns the folder and its `export.json`. Raises `ExportError` when parity fails."""
    if quantize not in (None, "int8"):
        raise ConfigError(f"--quantize {quantize}: the one quantisation offered is int8.")
    folder = model_folder(run)
    info = read_model_info(folder)
    task = get_task(info["task"])
    if not hasattr(task, "export"):
        raise ConfigError(f"{folder}: `cookbook export` does not export {info['task']} models yet; `cookbook "
                          "predict` serves them from the run folder.")
    target = (Path(output) if output else folder.parent / EXPORT_DIR).resolve()
    check_target(target, folder)
    data, why_not = run_data(folder, task)
    written: dict = {}

    def write(partial: Path) -> None:
        partial.mkdir(parents=True)
        spec = task.export(folder, partial, data, quantize=quantize)
        spec.update(format_version=FORMAT_VERSION, task=info["task"], domain=info.get("domain"),
                    made_from=str(folder), versions=versions(),
                    parity_inputs=("the run's test split" if data is not None else f"probe inputs: {why_not}"))
        (partial / EXPORT_FILE).write_text(json.dumps(spec, indent=2, ensure_ascii=False))
        (partial / "README.md").write_text(readme(spec, info))
        written.update(spec)

    save_atomically(target.parent, write, name=target.name)
    return target, written


def check_target(target: Path, model_dir: Path) -> None:
    """Refuses to write over anything but an earlier export: the export replaces its folder whole."""
    run = model_dir.resolve().parent
    if target in (run, model_dir.resolve()) or target in run.parents or target == Path(target.anchor):
        raise ConfigError(f"--output {target}: that folder holds the run itself; name a new folder, such as "
                          f"{run / EXPORT_DIR}.")
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and not (target / EXPORT_FILE).is_file())):
        raise ConfigError(f"--output {target}: already exists and is not an earlier export; an export replaces its "
                          "folder whole, so name a new or empty folder.")


def readme(spec: dict, info: dict) -> str:
    """How to call the export, for whoever receives the folder."""
    inputs = {"texts": '"Where is my parcel?" "It broke after a day."', "images": "scan1.png scan2.jpg",
              "rows": "new_rows.csv"}[spec["input_kind"]]
    int8 = spec.get("int8")
    size = f"{spec['fp32']['megabytes']} MB" + (f"; `{int8['model']}` (int8) {int8['megabytes']} MB" if int8 else "")
    return f"""# {info.get('domain') or spec['task']}: exported model

A `{spec['task']}` model exported by the fine-tuning cookbook. It predicts with `{NEEDS[spec['modality']]}` alone:
no PyTorch, no cookbook.

```bash
pip install {NEEDS[spec['modality']]}
python runtime.py . {inputs}            # one JSON answer a line
```

```python
import runtime
model = runtime.load(".")               # runtime.load(".", "model.int8.onnx") for the int8 graph
model.predict([...])                    # a list of answers, one a input
```

Or serve it over HTTP with the cookbook: `cookbook serve .`

- Labels: {', '.join(f'`{label}`' for label in spec.get('labels', []))}.
- Files: `{spec['model']}` {size}; `export.json` (labels, settings, parity, speed); `runtime.py`.
- Parity with PyTorch, measured at export on {spec['parity_inputs']}: largest logit difference
  {spec['parity']['logits_max_abs_difference']:.2g}.
"""
