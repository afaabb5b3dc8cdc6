"""Running the cookbook's notebooks headless with papermill, as `make run` and the tests do."""

from __future__ import annotations

from pathlib import Path


def notebook_paths(folder: str | Path = "notebooks") -> list[Path]:
    return sorted(Path(folder).glob("[0-9]*.ipynb"))


def run_notebook(path: str | Path, output_root: str | Path, parameters: dict | None = None, kernel: str = "python3") -> Path:
    """Executes `path` into `<output_root>/<name>/<name>.ipynb`; the notebook records its metrics beside it.

    Returns the notebook's output folder. Papermill raises PapermillExecutionError naming the failing cell.
    """
    import papermill

    path = Path(path).resolve()
    output_dir = Path(output_root).resolve() / path.stem
    output_dir.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(path),
        str(output_dir / path.name),
        parameters={"OUTPUT_DIR": str(output_dir), **(parameters or {})},
        kernel_name=kernel,
        cwd=str(path.parent),
        progress_bar=False,
    )
    return output_dir


def quiet_output() -> None:
    """Keeps notebook output to what a learner reads: no per-call progress bars or load reports.

    The Trainer's own progress table still shows. Warnings and errors still print.
    """
    import warnings

    warnings.filterwarnings("ignore", message="IProgress not found")  # before tqdm.auto is first imported

    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
