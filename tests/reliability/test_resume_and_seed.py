"""Interrupted training resumes to the same result, and the same seed gives the same metrics."""

import numpy as np
import pytest
import torch
from conftest import Interrupt
from safetensors.torch import load_file
from transformers import TrainerCallback

from finetune_cookbook.config import load_config
from finetune_cookbook.core.records import read_metrics
from finetune_cookbook.recipe import train
from finetune_cookbook.tasks.text_classification import fine_tune, load_data

pytestmark = pytest.mark.reliability


class FirstStep(TrainerCallback):
    """Notes the first optimiser step a run takes, to show where a resumed run picked up."""

    first = None

    def on_step_end(self, args, state, control, **kwargs):
        self.first = self.first or state.global_step


def test_interrupted_run_resumes_to_the_same_metrics(tmp_path, tiny_config):
    config = load_config(tiny_config)
    whole = train(config, tmp_path / "whole")

    steps_per_epoch = -(-whole.data.report.split_sizes["train"] // config.training.batch_size)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "cut", callbacks=[Interrupt(steps_per_epoch + 2)])
    assert (tmp_path / "cut" / "checkpoints" / f"checkpoint-{steps_per_epoch}").is_dir()
    assert not (tmp_path / "cut" / "model").exists()  # nothing half-written
    assert not (tmp_path / "cut" / "metrics.json").exists()

    first_step = FirstStep()
    resumed = train(config, tmp_path / "cut", resume=True, callbacks=[first_step])
    assert first_step.first == steps_per_epoch + 1  # picked up after the checkpoint, not from scratch
    assert resumed.metrics == pytest.approx(whole.metrics, abs=1e-6)
    whole_weights = load_file(whole.model_dir / "model.safetensors")
    resumed_weights = load_file(resumed.model_dir / "model.safetensors")
    for name, tensor in whole_weights.items():
        torch.testing.assert_close(resumed_weights[name], tensor, atol=1e-6, rtol=0)
    recorded = read_metrics(tmp_path / "cut")["approaches"]["fine_tuned"]
    assert recorded == pytest.approx(read_metrics(tmp_path / "whole")["approaches"]["fine_tuned"], abs=1e-6)


def test_same_seed_same_metrics_other_seed_other_model(tmp_path, tiny_config):
    config = load_config(tiny_config)
    data = load_data(config)
    first = fine_tune(data, config, tmp_path / "a").result
    second = fine_tune(data, config, tmp_path / "b").result
    assert second.metrics == pytest.approx(first.metrics, abs=1e-9)
    np.testing.assert_allclose(second.probabilities, first.probabilities, atol=1e-6)

    reseeded = load_config(tiny_config, {"training": {"seed": 7}})
    other = fine_tune(data, reseeded, tmp_path / "c").result
    assert not np.allclose(other.probabilities, first.probabilities, atol=1e-6)


def test_resume_without_a_checkpoint_starts_from_the_beginning_and_says_so(tmp_path, tiny_config, capsys):
    train(load_config(tiny_config), tmp_path / "empty", resume=True)
    assert "holds no whole checkpoint to resume from, so the run starts from the beginning" in capsys.readouterr().err
    assert (tmp_path / "empty" / "model" / "model.safetensors").is_file()


def test_resume_beside_a_finished_model_without_checkpoints_is_refused(tmp_path, tiny_config):
    from finetune_cookbook.core.errors import CookbookError

    (tmp_path / "done" / "model").mkdir(parents=True)
    with pytest.raises(CookbookError, match=r"checkpoints: no checkpoint to resume from\. Run without --resume"):
        train(load_config(tiny_config), tmp_path / "done", resume=True)
