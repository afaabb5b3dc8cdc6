"""Shared fixtures. Every test runs offline: the hub is never reachable on CI machines."""

import contextlib
import os
import subprocess

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# Under pytest-xdist (`make test` runs one worker per core) each worker, and every process it starts, gets its
# share of the cores: oversubscribed OpenMP threads spin against each other and run slower than fewer threads.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    os.environ.setdefault("OMP_NUM_THREADS",
                          str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402
from transformers import TrainerCallback  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_REVIEWS = ROOT / "data_samples" / "reviews.csv"
RECIPE = ROOT / "recipes" / "review_sentiment" / "config.yaml"
REAL_DATA = ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with MiniLM's tokenizer: real code paths, seconds to train."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from finetune_cookbook.core.io.resolve import resolve_model

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("sentence-transformers/all-MiniLM-L6-v2"))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_config(folder: Path, overrides: dict | None = None, base: Path = RECIPE, source: Path = SAMPLE_REVIEWS,
                 *more: dict) -> Path:
    """A copy of a recipe config reading `source`, with `overrides` (then each of `more`) merged in, as a user
    would edit a copy."""
    from finetune_cookbook.core.config import _merge

    raw = yaml.safe_load(base.read_text())
    raw["data"]["source"] = str(source)
    raw["output_dir"] = str(folder / "run")
    for changes in (overrides or {}, *more):
        raw = _merge(raw, changes)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def run_cookbook(*args, cwd=ROOT, expect: int = 0, timeout: int = 900):
    """The `cookbook` command as a user runs it; its exit status must be `expect`. Returns (stdout, stderr)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "finetune_cookbook", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout)
    assert done.returncode == expect, done.stderr[-3000:]
    return done.stdout, done.stderr


def run_in_process(*args, expect: int = 0, stdin: bytes = b"") -> tuple[str, str]:
    """The `cookbook` command in this process: what a new process shows, without the 15 s or so it spends
    importing torch and transformers. (`run_cookbook` and the torchrun tests keep the real entry point tested.)
    `stdin` is what is piped in. Returns (stdout, stderr); an exception the command does not turn into an error
    message fails the test."""
    import contextlib
    import io
    from unittest import mock

    from finetune_cookbook import cli

    out, err = io.StringIO(), io.StringIO()
    piped = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), mock.patch("sys.stdin", piped):
        code = cli.main([str(a) for a in args])
    assert code == expect, err.getvalue()[-3000:]
    return out.getvalue(), err.getvalue()


@contextlib.contextmanager
def small_disk(folder: Path, size: str):
    """`folder` as a tmpfs of `size` (a full disk, for the reliability tests; needs root), unmounted afterwards.
    Skips the test where the mount is refused (a container without CAP_SYS_ADMIN)."""
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]).returncode:
        pytest.skip("mount -t tmpfs failed (a container without CAP_SYS_ADMIN)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)])


def pretrain_and_train(config: Path) -> tuple[Path, str, str]:
    """`cookbook pretrain` then `cookbook train` on a tabular recipe's config; returns the config's output folder
    and both commands' stdout."""
    pre_out, _ = run_in_process("pretrain", config)
    train_out, _ = run_in_process("train", config)
    return Path(yaml.safe_load(config.read_text())["output_dir"]), pre_out, train_out


def torchrun_cookbook(*args, timeout: int = 600):
    """`torchrun --nproc_per_node 2 -m finetune_cookbook ARGS`, with the torchrun of this environment (next to the
    interpreter, else the one on PATH); `--standalone` picks a free port, so two such runs can overlap."""
    import shutil
    import subprocess
    import sys

    torchrun = Path(sys.executable).with_name("torchrun")
    launcher = str(torchrun if torchrun.exists() else shutil.which("torchrun"))
    return subprocess.run([launcher, "--standalone", "--nproc_per_node", "2", "-m", "finetune_cookbook",
                           *map(str, args)], capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now (the system picks it)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def torchrun_two_nodes(*args, timeout: int = 600) -> list[subprocess.CompletedProcess]:
    """`cookbook ARGS` as two machines run it, on this one: two torchrun launchers (`--nnodes 2 --nproc_per_node 1
    --node_rank 0|1`) meeting at a c10d rendezvous on a free port of 127.0.0.1. Returns each node's process. A node
    that fails stops the other at once, rather than leaving it waiting for its peer until the rendezvous times out."""
    import shutil
    import sys
    import tempfile
    import time

    torchrun = Path(sys.executable).with_name("torchrun")
    launcher = str(torchrun if torchrun.exists() else shutil.which("torchrun"))
    endpoint = f"127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory(prefix="two-nodes-") as logs:
        outputs = [(open(Path(logs) / f"{rank}.out", "w+"), open(Path(logs) / f"{rank}.err", "w+")) for rank in (0, 1)]
        nodes = [subprocess.Popen([launcher, "--nnodes", "2", "--nproc_per_node", "1", "--node_rank", str(rank),
                                   "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint, "-m", "finetune_cookbook",
                                   *map(str, args)], stdout=out, stderr=err, text=True)
                 for rank, (out, err) in enumerate(outputs)]
        deadline = time.monotonic() + timeout
        try:
            while any(node.poll() is None for node in nodes) and time.monotonic() < deadline:
                if any(node.poll() not in (None, 0) for node in nodes):
                    break
                time.sleep(0.5)
        finally:
            for node in nodes:
                if node.poll() is None:
                    node.kill()
                node.wait()
        done = []
        for node, (out, err) in zip(nodes, outputs):
            out.seek(0), err.seek(0)
            done.append(subprocess.CompletedProcess(node.args, node.returncode, out.read(), err.read()))
            out.close(), err.close()
        return done


@pytest.fixture
def tiny_config(tmp_path, tiny_model_dir):
    """A recipe config on the sample reviews with the tiny model: 3 epochs of a few steps each."""
    overrides = {
        "data": {"sample_size": 150},
        "model": {"name": str(tiny_model_dir), "max_length": 64},
        "training": {"epochs": 3, "batch_size": 16, "learning_rate": 1e-3, "logging_steps": 2,
                     "early_stopping_patience": None},
    }
    return write_config(tmp_path, overrides)


class Interrupt(TrainerCallback):
    """Stops training as Ctrl-C would, partway through an epoch after a checkpoint was written."""

    def __init__(self, at_step: int):
        self.at_step = at_step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at_step:
            raise KeyboardInterrupt(f"simulated interruption at step {self.at_step}")


def assert_resume_reproduces(config, whole_dir: Path, cut_dir: Path, at_step: int = 15) -> None:
    """`cookbook train` straight through, and interrupted at `at_step` then resumed with --resume, must save the
    same model with the same test metrics; the interrupted run must leave no model behind."""
    import torch
    from safetensors.torch import load_file

    from finetune_cookbook.recipe import train

    whole = train(config, whole_dir)
    with pytest.raises(KeyboardInterrupt):
        train(config, cut_dir, callbacks=[Interrupt(at_step)])
    assert not (cut_dir / "model").exists()
    resumed = train(config, cut_dir, resume=True)
    assert resumed.metrics == pytest.approx(whole.metrics, abs=1e-6)
    for name, tensor in load_file(whole.model_dir / "model.safetensors").items():
        torch.testing.assert_close(load_file(resumed.model_dir / "model.safetensors")[name], tensor, atol=1e-6, rtol=0)


def smoke_runs_folder(tmp_path_factory) -> Path:
    """One folder for the whole test session, every pytest-xdist worker included: the SMOKE notebook runs that the
    notebook tests and the site test share. COOKBOOK_SMOKE_RUNS names a folder that keeps them across sessions
    (`cookbook run-notebooks --smoke --output-dir FOLDER` fills one), for a quick loop on the site test alone."""
    if os.environ.get("COOKBOOK_SMOKE_RUNS"):
        return Path(os.environ["COOKBOOK_SMOKE_RUNS"])
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "smoke-notebooks"
    folder.mkdir(exist_ok=True)
    return folder


def smoke_runs(paths, tmp_path_factory) -> dict[str, Path | str]:
    """Each notebook of `paths` run once in SMOKE mode for the session: the first worker to ask runs it under a
    lock and the others reuse its output folder. Notebooks no other worker is running are taken first, so two
    workers asking for the same notebooks run them side by side. Returns each notebook's output folder, or the
    error of its failed run (which is not run again)."""
    from filelock import FileLock, Timeout

    from finetune_cookbook.notebooks import RUN_RECORD, run_notebook

    folder = smoke_runs_folder(tmp_path_factory)
    done, waiting = {}, list(paths)
    for blocking in (False, True):
        for path in list(waiting):
            output, failed = folder / path.stem, folder / f"{path.stem}.failed"
            try:
                with FileLock(folder / f"{path.stem}.lock", timeout=-1 if blocking else 0):
                    if not failed.exists() and not (output / RUN_RECORD).is_file():
                        try:
                            run_notebook(path, folder, {"SMOKE": True})
                        except Exception as error:  # the test of that notebook reports it; the others go on
                            failed.write_text(str(error)[-5000:])
            except Timeout:
                continue  # another worker is running it: come back to it after the others
            done[path.stem] = failed.read_text() if failed.exists() else output
            waiting.remove(path)
    return done


def smoke_run(path: Path, paths, tmp_path_factory) -> Path:
    """`path`'s SMOKE run, with every other notebook of `paths` run beside it: whichever worker asks first runs
    them all, side by side with the other worker (the site test asks for them all too), instead of one worker
    running five notebooks while the other waits. Fails the test only where `path`'s own run failed."""
    found = smoke_runs(paths, tmp_path_factory)[path.stem]
    if isinstance(found, str):
        pytest.fail(f"{path.name} failed in SMOKE mode:\n{found}")
    return found


# The files that take minutes, longest first (measured in CI): started first, with `--no-loadscope-reorder`
# (Makefile), no worker is left finishing one of them alone while the other has nothing to do.
LONGEST_FIRST = ("notebooks/test_notebooks.py", "site/test_site_in_a_browser.py", "recipes/test_fraud_recipe.py",
                 "serving/test_export_and_serve.py", "serving/test_tabular_export_and_serve.py",
                 "recipes/test_multinode.py", "recipes/test_tumor_image_recipe.py",
                 "recipes/test_support_intent_recipe.py", "recipes/test_review_sentiment_recipe.py",
                 "recipes/test_marketing_recipe.py")


def longest_first(items) -> None:
    def rank(item) -> int:
        path = item.path.relative_to(ROOT / "tests").as_posix() if ROOT / "tests" in item.path.parents else ""
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each file's tests keep their order


def pytest_collection_modifyitems(config, items):
    """The longest files first (`longest_first`). Tests marked by_hand (the rest of the 20-moment kill sweep, the
    larger-than-memory streamed run, the tabular two-node run, the support recipe under torchrun: what would take CI
    past its 20 minutes) run only when asked for: `-m by_hand` (all of them) or `-m kill_sweep`."""
    longest_first(items)
    if {"by_hand", "kill_sweep"} & set((config.getoption("markexpr") or "").replace("(", " ").replace(")", " ").split()):
        return
    by_hand = [item for item in items if item.get_closest_marker("by_hand")]
    if by_hand:
        config.hook.pytest_deselected(items=by_hand)
        items[:] = [item for item in items if not item.get_closest_marker("by_hand")]
