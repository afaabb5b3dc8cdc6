"""`cookbook bench-speed` says where a tuned epoch's time goes."""

from conftest import write_config

from finetune_cookbook.speed_candidates import epoch_parts


def test_an_epoch_s_time_is_split_into_its_steps_evaluation_and_checkpoint(tmp_path, tiny_model_dir):
    config = write_config(tmp_path, {"data": {"sample_size": 120}, "model": {"name": str(tiny_model_dir)},
                                     "training": {"batch_size": 16}})
    found = epoch_parts(str(config), epochs=2)
    parts = found["parts"]
    assert found["epochs"] == 2 and found["seconds_per_epoch"] > 0
    assert parts["steps"] > 0 and parts["evaluation"] > 0 and parts["checkpoint"] > 0
    assert 0 <= parts["optimiser"] < parts["steps"]
    assert abs(sum(parts[p] for p in ("steps", "evaluation", "checkpoint", "other")) - found["seconds_per_epoch"]) < 0.05
    assert parts["other"] >= -0.05  # the parts never add up to more than the epoch
    assert not (tmp_path / "run").exists()  # its checkpoints went to a temporary folder
