"""Two machines, played on one (this replaces the text and marketing recipes' two-process tests: it checks what
they checked, and more): `cookbook train` under two torchrun launchers (`--nnodes 2`, a c10d rendezvous on
127.0.0.1) gives the model one process gives with the same global batch, and only rank 0 writes.

The runs are made comparable the way a user would compare them: fp32 (bf16 rounds each process's batch, padded to
its own length, otherwise than one process's whole batch), no dropout (each process draws its own masks, so with
dropout two nodes agree with one process only as closely as two seeds do), and a training split that the global
batch divides (accelerate fills a short last batch with rows from the epoch's start, so every process has one).
"""

import json
import re
import shutil

import pytest
from conftest import ROOT, run_in_process, torchrun_two_nodes, write_config
from safetensors.torch import load_file

pytestmark = pytest.mark.recipe

# Measured on these runs: the largest weight difference was 8e-8 (text) and 9e-7 (tabular), from the order in which
# floats are summed. The FT-Transformer's attention key biases are left out: their gradient is zero in exact
# arithmetic (softmax ignores a shift shared by every key), so Adam turns float noise into steps of up to the
# learning rate, and they drift apart (6e-4) without changing any output; the metrics check that.
WEIGHT_TOLERANCE = 1e-5
MARKETING = ROOT / "recipes" / "marketing_segmentation" / "config.yaml"
CUSTOMERS = ROOT / "data_samples" / "customers" / "customers.csv"


@pytest.fixture(scope="module")
def tiny_model_without_dropout(tmp_path_factory):
    """conftest's tiny BERT, with dropout off."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from finetune_cookbook.core.io.resolve import resolve_model

    folder = tmp_path_factory.mktemp("tiny-bert-no-dropout")
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("sentence-transformers/all-MiniLM-L6-v2"))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def files_in(run):
    return sorted(str(path.relative_to(run)) for path in run.rglob("*") if path.is_file())


def assert_two_nodes_match_one_process(one, two, done, headline: str, metric_tolerance: float, unchecked: str = "^$"):
    """Both nodes succeeded; node 0 alone reported; the two-node run wrote the files the one-process run wrote
    (one model, one metrics.json, one log), each checkpoint also holding node 1's RNG state for a resume, and
    nothing else; the weights (but those whose name matches `unchecked`) and the test metrics match."""
    for node in done:
        assert node.returncode == 0, node.stderr[-3000:]
    assert [node.stdout.count(f"test: {headline}") for node in done] == [1, 0]
    # The Trainer saves each process's RNG state in a checkpoint, so that a resume continues every process's
    # draws: those files are node 1's only ones. The log is one file, named after the process that wrote it.
    assert [name for name in files_in(two) if "rng_state" in name] == sorted(
        name.replace("rng_state.pth", f"rng_state_{rank}.pth") for name in files_in(one) if "rng_state" in name
        for rank in (0, 1))
    assert ([name for name in files_in(two) if "rng_state" not in name and "events.out" not in name]
            == [name for name in files_in(one) if "rng_state" not in name and "events.out" not in name])
    assert len([name for name in files_in(two) if "events.out" in name]) == 1
    weights_one = load_file(one / "model" / "model.safetensors")
    weights_two = load_file(two / "model" / "model.safetensors")
    assert weights_one.keys() == weights_two.keys()
    checked = [name for name in weights_one if not re.search(unchecked, name)]
    worst = max((weights_one[name] - weights_two[name]).abs().max().item() for name in checked)
    assert worst <= WEIGHT_TOLERANCE
    scores_one = json.loads((one / "metrics.json").read_text())["approaches"]["fine_tuned"]
    scores_two = json.loads((two / "metrics.json").read_text())["approaches"]["fine_tuned"]
    for name, value in scores_one.items():
        if isinstance(value, float):
            assert scores_two[name] == pytest.approx(value, abs=metric_tolerance), name


def test_text_recipe_on_two_nodes_matches_one_process(tmp_path, tiny_model_without_dropout):
    def config(name, batch_size):
        (tmp_path / name).mkdir()
        return write_config(tmp_path / name, {
            "data": {"sample_size": 160},  # 112 training rows: 7 global batches of 16
            "model": {"name": str(tiny_model_without_dropout), "max_length": 64},
            "training": {"epochs": 3, "batch_size": batch_size, "learning_rate": 1e-3, "logging_steps": 2,
                         "early_stopping_patience": None, "precision": "fp32"}})

    run_in_process("train", config("one", 16))
    done = torchrun_two_nodes("train", config("two", 8))
    assert_two_nodes_match_one_process(tmp_path / "one" / "run", tmp_path / "two" / "run", done, "accuracy", 1e-6)


@pytest.mark.by_hand  # CI runs the text recipe's; tabular training in two processes is the fraud recipe's torchrun test
def test_tabular_recipe_on_two_nodes_matches_one_process(tmp_path):
    """The marketing recipe's fine-tune (pre-trained once, in one process, with its dropout then set to 0)."""
    quick = {"data": {"sample_size": 400},  # 240 training customers: 5 global batches of 48
             "pretrain": {"epochs": 2, "d_token": 16, "n_heads": 2},
             "segmentation": {"fine_tune_steps": 20, "stability_runs": 1, "k_range": [3, 4]},
             "training": {"epochs": 1, "logging_steps": 5, "precision": "fp32"}}

    def config(name, batch_size):
        (tmp_path / name).mkdir()
        return write_config(tmp_path / name, quick, MARKETING, CUSTOMERS, {"training": {"batch_size": batch_size}})

    one, two = config("one", 48), config("two", 24)
    run_in_process("pretrain", one)
    settings = tmp_path / "one" / "run" / "pretrained" / "config.json"
    settings.write_text(json.dumps({**json.loads(settings.read_text()), "attention_dropout": 0.0, "ffn_dropout": 0.0}))
    shutil.copytree(settings.parent, tmp_path / "two" / "run" / "pretrained")
    run_in_process("train", one)
    done = torchrun_two_nodes("train", two)
    assert_two_nodes_match_one_process(tmp_path / "one" / "run", tmp_path / "two" / "run", done, "lift", 1e-6,
                                      unchecked=r"attention\.W_k\.bias$")


def test_the_accelerate_config_launches_two_machines(monkeypatch):
    """`recipes/accelerate_multinode.yaml` read as `accelerate launch` reads it, down to the torchrun settings it
    starts each machine with (nothing is launched)."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    monkeypatch.chdir(ROOT)
    parsed = launch_command_parser().parse_args([
        "--config_file", "recipes/accelerate_multinode.yaml", "--machine_rank", "1",
        "-m", "finetune_cookbook", "train", "recipes/review_sentiment/config.yaml"])
    args, _, _ = _validate_launch_command(parsed)
    environment = prepare_multi_gpu_env(args)
    assert args.multi_gpu and args.module and args.training_script == "finetune_cookbook"
    assert (int(args.nnodes), int(args.node_rank), int(args.nproc_per_node)) == (2, 1, 8)
    assert args.rdzv_endpoint == "10.0.0.1:29500"
    assert environment["ACCELERATE_MIXED_PRECISION"] == "no"  # the recipe's training.precision decides
