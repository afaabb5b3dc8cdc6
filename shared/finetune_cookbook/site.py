"""`make docs`: a static site (mkdocs, Material theme, mkdocs-jupyter) of the README, `docs/` and every notebook
executed, with its outputs and figures.

The notebooks come as `make run` executed them (`outputs/<name>/<name>.ipynb`); one that was never run there is
run in SMOKE mode (tiny data, a few steps) into `outputs/smoke/`, so the site builds on a fresh clone, and its
page says that it shows a smoke run. The pages are staged in a folder that mirrors the repository, so the links
that work on GitHub work on the site too; every file they link to is copied beside them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from finetune_cookbook.core.errors import ConfigError

PAGES = {  # the site's menu, beyond the notebooks: title and the page's path in the repository
    "Home": "README.md",
    "Results": "docs/results.md",
    "Your own data": "docs/own_data.md",
    "Workshop": "docs/workshop.md",
    "Serving": "docs/serving.md",
    "Past one machine": "docs/scale.md",
    "Architecture": "docs/architecture.md",
    "Changelog": "CHANGELOG.md",
}
WIDGET = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = "An interactive widget: it needs a running notebook (make lab) to answer."
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
SMOKE_NOTE = ("> **A smoke run.** This page shows the notebook run with `SMOKE = True`: tiny data and a few steps, "
              "to show that every cell runs and what it draws. Its numbers are not results; `make run` and then "
              "`make docs` put the full run here, and [the results page](../../docs/results/) has the real datasets'.")


def executed_notebook(path: Path, outputs: Path) -> Path | None:
    """Where `make run` (or an earlier smoke run) left `path` executed, if anywhere."""
    for folder in (outputs, outputs / "smoke"):
        executed = folder / path.stem / path.name
        if executed.is_file():
            return executed
    return None


def executed_notebooks(notebooks: Path, outputs: Path, progress=True) -> dict[str, Path]:
    """Every notebook executed: `make run`'s copy, else a smoke run's, else one run now in SMOKE mode."""
    from finetune_cookbook.notebooks import CellProgress, notebook_paths, run_notebook

    found = {}
    for path in notebook_paths(notebooks):
        executed = executed_notebook(path, outputs)
        if executed is None:
            print(f"{path.name} has not been run: running it in SMOKE mode into {outputs / 'smoke'}", flush=True)
            folder = run_notebook(path, outputs / "smoke", {"SMOKE": True},
                                  progress=CellProgress(path.stem) if progress else None)
            executed = folder / path.name
        found[path.stem] = executed
    if not found:
        raise ConfigError(f"{notebooks}: no notebooks found.")
    return found


def _was_smoke(notebook: dict) -> bool:
    return bool(notebook.get("metadata", {}).get("papermill", {}).get("parameters", {}).get("SMOKE"))


def _without_widgets(notebook) -> None:
    """A widget needs a running kernel: on a static page it would only pull the widget library from a CDN (which
    an offline reader cannot reach) to draw controls that do nothing. Each becomes a line that says where to use it."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if WIDGET in output.get("data", {}):
                output["data"] = {"text/html": f"<p><em>{WIDGET_NOTE}</em></p>", "text/plain": WIDGET_NOTE}
    notebook.metadata.pop("widgets", None)


def _stage_notebook(executed: Path, target: Path) -> None:
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    if _was_smoke(notebook):
        notebook.cells.insert(0, nbformat.v4.new_markdown_cell(SMOKE_NOTE))
    _without_widgets(notebook)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)


def _stage_linked(root: Path, staged: Path, page: str) -> None:
    """Copies `page` and, following its relative links, every file it reaches that is not staged yet."""
    waiting = [page]
    while waiting:
        relative = waiting.pop()
        source, target = root / relative, staged / relative
        if target.exists() or not source.is_file():
            continue  # a link to nothing is left for mkdocs (strict) and the browser test to report
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        if source.suffix == ".md":
            for link in LINK.findall(source.read_text(encoding="utf-8")):
                if "://" not in link and not link.startswith("mailto:"):
                    waiting.append(Path(os.path.normpath(Path(relative).parent / link)).as_posix())


def stage(root: Path, staging: Path, executed: dict[str, Path]) -> Path:
    """Writes the site's sources into `staging/src` and its mkdocs config into `staging/mkdocs.yml`."""
    source = staging / "src"
    shutil.rmtree(staging, ignore_errors=True)
    source.mkdir(parents=True)
    notebook_pages = {}
    for stem, path in executed.items():
        _stage_notebook(path, source / "notebooks" / f"{stem}.ipynb")
        notebook_pages[stem.replace("_", " ", 1).replace("_", " ")] = f"notebooks/{stem}.ipynb"
    for page in PAGES.values():
        if not (root / page).is_file():
            raise ConfigError(f"{root / page}: a page of the site is missing.")
        _stage_linked(root, source, page)
    for page in list(source.rglob("*.md")):
        _stage_linked(root, source, page.relative_to(source).as_posix())
    config = yaml.safe_load((root / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = [{title: page} for title, page in PAGES.items() if title != "Changelog"]
    nav += [{"Notebooks": [{title: page} for title, page in notebook_pages.items()]}, {"Changelog": PAGES["Changelog"]}]
    config.update(docs_dir=str(source), nav=nav)
    written = staging / "mkdocs.yml"
    written.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return written


def build(root: str | Path = ".", site: str | Path = "site", outputs: str | Path = "outputs",
          notebooks: str | Path = "notebooks", staging: str | Path = ".site-build") -> Path:
    """Stages the pages and the executed notebooks, then builds the site into `site` (mkdocs, strict: a broken
    link between pages stops the build). Returns the site's folder."""
    root = Path(root).resolve()
    executed = executed_notebooks(root / notebooks, (root / outputs).resolve())
    config = stage(root, (root / staging).resolve(), executed)
    site = (root / site).resolve()
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(config),
                           "-d", str(site)], capture_output=True, text=True,
                          cwd=config.parent,  # mkdocs-jupyter keeps its cache in the working folder's .cache/
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    if done.returncode != 0:
        raise ConfigError(f"mkdocs could not build the site:\n{done.stderr[-4000:]}")
    return site
