"""`data.streaming: true`: the review recipe trains on a CSV larger than the memory it is given, and the model it
saves predicts like any other. The same file read whole fails under the same limit."""

import os
import random
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT, run_in_process, write_config

pytestmark = pytest.mark.recipe

MiB = 2**20
# The limit is on address space (RLIMIT_AS), set by the child once it has imported torch, transformers and the
# cookbook: those alone map about 5 GiB (the packages' code and torch's reserved regions), which says nothing of
# data. On top of that the run may map BUDGET more; a streamed run of the tiny model mapped 242 MiB more (measured
# with MALLOC_ARENA_MAX=2, which keeps glibc from reserving 64 MiB a thread). The file is larger than the budget.
BUDGET = 512 * MiB
FILE_BYTES = 640 * MiB

LIMITED_TRAIN = """
import re, resource, sys
import finetune_cookbook.tasks.text_classification  # the fixed cost: torch, transformers, datasets
from finetune_cookbook import cli
mapped = int(re.search(r"VmSize:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
resource.setrlimit(resource.RLIMIT_AS, (mapped + {budget}, mapped + {budget}))
code = cli.main(["train", sys.argv[1]])
print("peak RSS MiB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr)
sys.exit(code)
"""


def write_reviews(path, size: int) -> None:
    """A review CSV of at least `size` bytes: 20,000 distinct reviews of three star ratings, written over and
    over (repeats inside train are what a stream keeps; validation and test drop them)."""
    rng = random.Random(0)
    words = {"1": "awful broken refund terrible waste", "3": "okay average fine decent middling",
             "5": "great love excellent perfect superb"}
    filler = "the product arrived and i used it for a week with my family at home".split()
    lines = []
    for i in range(20_000):
        stars = rng.choice("135")
        kind = words[stars].split()
        lines.append(" ".join(rng.choice(kind if rng.random() < 0.3 else filler) for _ in range(30))
                     + f" {i},{stars}\n")
    block = "".join(lines).encode()
    with open(path, "wb") as out:
        out.write(b"review,stars\n")
        for _ in range(-(-size // len(block))):
            out.write(block)


def limited_train(config) -> subprocess.CompletedProcess:
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-c", LIMITED_TRAIN.format(budget=BUDGET), str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env=env)


def streamed_settings(tiny_model_dir) -> dict:
    return {"data": {"label_mapping": {1: "negative", 3: "neutral", 5: "positive"}, "streaming": True,
                     "streaming_split_rows": 150},
            "model": {"name": str(tiny_model_dir), "max_length": 64},
            "training": {"max_steps": 40, "batch_size": 32, "learning_rate": 1e-3, "logging_steps": 10,
                         "early_stopping_patience": None, "precision": "fp32"}}


def assert_streamed_and_predicts(stdout: str, folder) -> None:
    assert "training read 1280 training rows from the stream" in stdout
    assert "by a stable hash of each text" in (folder / "run" / "model" / "README.md").read_text()
    new = folder / "new.csv"
    pd.DataFrame({"review": ["great love excellent", "awful broken refund", ""]}).to_csv(new, index=False)
    out, _ = run_in_process("predict", folder / "run", new)
    predicted = pd.read_csv(pd.io.common.StringIO(out), keep_default_na=False)
    assert len(predicted) == 3 and set(predicted["label"][:2]) <= {"negative", "neutral", "positive"}
    assert predicted["label"][2] == "" and predicted["note"][2] == "empty text: not labelled"


def test_a_streamed_run_trains_its_steps_from_the_stream_and_the_model_predicts(tmp_path, tiny_model_dir):
    """`streaming: true` on a file of a few MiB, in this process: what CI runs of the test below."""
    source = tmp_path / "reviews.csv"
    write_reviews(source, 4 * MiB)
    stdout, _ = run_in_process("train", write_config(tmp_path, streamed_settings(tiny_model_dir), source=source))
    assert_streamed_and_predicts(stdout, tmp_path)


@pytest.mark.by_hand  # two processes and a 640 MiB file: `pytest -m by_hand tests/recipes/test_streaming_recipe.py`
def test_a_file_larger_than_the_memory_given_trains_streamed_and_the_model_predicts(tmp_path, tiny_model_dir):
    source = tmp_path / "reviews.csv"
    write_reviews(source, FILE_BYTES)
    assert source.stat().st_size > BUDGET
    settings = streamed_settings(tiny_model_dir)
    streamed = limited_train(write_config(tmp_path, settings, source=source))
    assert streamed.returncode == 0, streamed.stderr[-3000:]
    assert_streamed_and_predicts(streamed.stdout, tmp_path)

    whole = tmp_path / "whole"
    whole.mkdir()
    settings["data"]["streaming"] = False
    settings["training"].update(max_steps=None, epochs=1)
    refused = limited_train(write_config(whole, settings, source=source))
    assert refused.returncode == 1, refused.stderr[-3000:]
    assert "error: out of memory" in refused.stderr and "set data.streaming: true" in refused.stderr
    assert not (whole / "run" / "model").exists()
