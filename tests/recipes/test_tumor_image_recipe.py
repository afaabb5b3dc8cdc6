"""The tumor-image recipe's commands, end to end on the synthetic scans, and the bad input users bring."""

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, run_in_process, torchrun_cookbook
from PIL import Image

pytestmark = pytest.mark.recipe

RECIPE = ROOT / "recipes" / "tumor_image_classification" / "config.yaml"
SAMPLES = ROOT / "data_samples" / "tumor_images"


def image_config(folder: Path, source=SAMPLES, **overrides) -> Path:
    """A copy of the recipe with small images and a short schedule: every step runs, in seconds."""
    raw = yaml.safe_load(RECIPE.read_text())
    raw["data"]["source"] = source if isinstance(source, dict) else str(source)
    raw["model"]["image_size"] = 32
    raw["training"].update(epochs=2, batch_size=16, logging_steps=2, early_stopping_patience=None)
    raw["output_dir"] = str(folder / "run")
    for section, values in overrides.items():
        raw.setdefault(section, {}).update(values)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    stdout, _ = run_in_process("train", image_config(folder, model={"image_size": 64}))
    return folder / "run", stdout


def test_train_writes_model_metrics_and_card(trained):
    run, stdout = trained
    assert "test: accuracy" in stdout and "roc_auc" in stdout
    model = run / "model"
    # the run's config and metrics live in the model folder, so they change with it (the run folder links to them)
    assert sorted(p.name for p in model.iterdir()) == ["README.md", "architecture.json", "config.yaml", "cookbook.json",
                                                         "metrics.json", "model.safetensors", "shift_reference.npy"]
    info = json.loads((model / "cookbook.json").read_text())
    assert info["labels"] == ["benign", "malignant"] and info["positive_class"] == "malignant"
    assert 0 <= info["threshold"] <= 1
    card = (model / "README.md").read_text()
    for section in ("## Data", "## Metrics", "## Intended use", "## Limitations"):
        assert section in card
    assert "No split came with the data" in card
    scores = json.loads((run / "metrics.json").read_text())["approaches"]["fine_tuned"]
    assert {"accuracy", "roc_auc", "sensitivity", "specificity", "threshold"} <= set(scores)
    # recorded, not a quality bar: two epochs at 64 px must still rank better than a coin toss (at 32 px the
    # test ROC-AUC was one: 0.47 to 0.67 from run to run)
    assert scores["roc_auc"] > 0.5


def test_predict_an_image_a_folder_and_a_csv(trained, tmp_path):
    run, _ = trained
    one = SAMPLES / "malignant" / "malignant_001.png"
    single = pd.read_csv(io.StringIO(run_in_process("predict", run, one)[0]))
    assert list(single.columns) == ["file", "label", "confidence", "p_benign", "p_malignant", "flag_malignant"]
    assert single["p_benign"].iloc[0] + single["p_malignant"].iloc[0] == pytest.approx(1, abs=1e-3)
    out = tmp_path / "folder.csv"
    run_in_process("predict", run / "model", SAMPLES / "benign", "--output", out)
    assert len(pd.read_csv(out)) == 60
    listing = tmp_path / "scans.csv"
    pd.DataFrame({"image": [str(one), str(SAMPLES / "benign" / "benign_002.png")]}).to_csv(listing, index=False)
    assert len(pd.read_csv(io.StringIO(run_in_process("predict", run, listing)[0]))) == 2


def test_predict_on_a_folder_without_images(trained, tmp_path):
    run, _ = trained
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no scans here")
    _, err = run_in_process("predict", run, tmp_path / "empty", expect=2)
    assert "holds no images" in err


def _broken_dataset(root: Path) -> list[str]:
    """The sample scans plus every kind of file a real folder holds; returns the files that must be skipped."""
    for cls in ("benign", "malignant"):
        shutil.copytree(SAMPLES / cls, root / cls)
    grey = np.asarray(Image.open(SAMPLES / "benign" / "benign_001.png").convert("L"))
    Image.fromarray(grey.astype(np.uint16) * 257).save(root / "benign" / "sixteen_bit.png")
    Image.fromarray(grey).convert("RGBA").save(root / "benign" / "rgba.png")
    Image.fromarray(grey).convert("RGB").convert("CMYK").save(root / "malignant" / "cmyk.jpg")
    Image.fromarray(grey).convert("P").save(root / "malignant" / "palette.png")
    good = (SAMPLES / "malignant" / "malignant_002.png").read_bytes()
    (root / "malignant" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "benign" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (root / "benign" / "notes.txt").write_text("scanned on the old machine")
    Image.new("L", (4, 4)).save(root / "benign" / "tiny.png")
    return ["malignant/truncated.png", "benign/corrupt.jpg", "benign/notes.txt", "benign/tiny.png"]


def test_a_folder_with_broken_files_trains_and_reports_them(tmp_path):
    skipped = _broken_dataset(tmp_path / "scans")
    stdout, _ = run_in_process("train", image_config(tmp_path, source=tmp_path / "scans"))
    said = next(line for line in stdout.splitlines() if line.startswith("data: "))
    assert "4 skipped (" in said and "; and 1 more)" in said  # the console says what was left out, not only metrics.json
    report = json.loads((tmp_path / "run" / "metrics.json").read_text())["data"]
    reported = "\n".join(report["skipped"])
    for name in skipped:
        assert name in reported, name
    assert report["rows_read"] == 120 + 4  # the 16-bit, RGBA, CMYK and palette images are converted and kept


def test_an_empty_class_folder_and_a_csv_naming_missing_files(tmp_path):
    root = tmp_path / "scans"
    shutil.copytree(SAMPLES / "benign", root / "benign")
    (root / "malignant").mkdir()
    _, err = run_in_process("train", image_config(tmp_path, source=root), expect=2)
    assert "Empty class folder(s)" in err and "malignant" in err
    assert not (tmp_path / "run").exists()

    listing = tmp_path / "labels.csv"
    pd.DataFrame({"path": ["benign/benign_001.png", "benign/gone.png"], "label": ["benign", "malignant"]}).to_csv(listing, index=False)
    shutil.copytree(SAMPLES / "benign", tmp_path / "benign")
    _, err = run_in_process("train", image_config(tmp_path, source=listing, data={"image_column": "path"}), expect=2)
    assert "1 file(s) named in" in err and "line 3: benign/gone.png" in err


def _load(tmp_path, source, **sections):
    from finetune_cookbook.config import load_config
    from finetune_cookbook.tasks import get_task

    return get_task("image_classification").load_data(load_config(image_config(tmp_path, source=source, **sections)))


def _split_tree(root: Path, names=("Training", "Testing")) -> Path:
    for split, numbers in zip(names, (range(1, 46), range(46, 61))):
        for cls in ("benign", "malignant"):
            (root / split / cls).mkdir(parents=True)
            for i in numbers:
                shutil.copy(SAMPLES / cls / f"{cls}_{i:03d}.png", root / split / cls)
    return root


def test_split_folders_of_any_name_or_one_folder_per_split(tmp_path):
    from finetune_cookbook.core.errors import ConfigError, DataError

    root = _split_tree(tmp_path / "kaggle", names=("train_set", "test_set"))
    (root / "train_set" / "README.md").write_text("downloaded 2026")
    data = _load(tmp_path, root)
    assert data.report.given_splits == ["train", "test"] and data.report.split_sizes["test"] == 30
    data = _load(tmp_path, {"train": str(root / "train_set"), "test": str(root / "test_set")})
    assert data.report.given_splits == ["train", "test"] and data.report.split_sizes["test"] == 30
    assert data.splits["test"]["file"].str.startswith(f"{root / 'test_set'}/").all()  # where a user finds them
    with pytest.raises(ConfigError, match=r"data.source.(val|validation) and data.source.(val|validation) both name "
                                          r"the validation split"):
        _load(tmp_path, {"train": str(root / "train_set"), "val": str(root / "test_set"), "validation": str(root)})
    with pytest.raises(ConfigError, match=r"data.source.train: an image split's entry is its folder or CSV "
                                          r"\(\['delimiter'\] are settings for tables\)"):
        _load(tmp_path, {"train": {"path": str(root / "train_set"), "delimiter": ";"}, "test": str(root / "test_set")})
    with pytest.raises(ConfigError, match=r"data.split_column \('fold'\) is for a CSV of image paths"):
        _load(tmp_path, root, data={"split_column": "fold"})
    with pytest.raises(DataError, match=r"data.source.(train|test) and data.source.(train|test) are the same .*: every "):
        _load(tmp_path, {"train": str(root / "train_set"), "test": str(root / "train_set")})
    with pytest.raises(DataError, match=r"holds splits of its own \(test_set, train_set\)"):
        _load(tmp_path, {"train": str(root), "test": str(root / "test_set")})


def test_npz_label_ids_are_named_by_the_mapping(tmp_path):
    from finetune_cookbook.core.errors import DataError

    rng = np.random.default_rng(0)
    arrays = {f"{split}_{kind}": values for split, count in (("train", 30), ("test", 12)) for kind, values in (
        ("images", rng.integers(0, 255, (count, 28, 28, 3), dtype=np.uint8)), ("labels", np.arange(count) % 3))}
    np.savez(tmp_path / "blood.npz", **arrays)
    with pytest.raises(DataError, match=r"label ids, and they include '0' \(npz:test\[0\] ...\), '1' .* which data.labels does not name .* "
                                        r"Name every id in data.label_mapping"):
        _load(tmp_path, tmp_path / "blood.npz", data={"labels": ["basophil", "eosinophil", "platelet"]})
    data = _load(tmp_path, tmp_path / "blood.npz", data={"labels": None, "label_mapping": {
        0: "basophil", 1: "eosinophil", 2: "platelet"}}, evaluation={"positive_class": None})
    assert data.labels == ["basophil", "eosinophil", "platelet"] and data.report.given_splits == ["train", "test"]


def test_a_label_csv_with_a_split_column(tmp_path):
    from finetune_cookbook.core.errors import DataError

    rows = [(f"{cls}/{cls}_{i:03d}.png", cls, "test" if i > 45 else "Training") for cls in ("benign", "malignant")
            for i in range(1, 61)]
    listing = tmp_path / "scans" / "labels.csv"  # paths are read relative to the CSV: it sits beside the scans
    shutil.copytree(SAMPLES, tmp_path / "scans")
    pd.DataFrame(rows, columns=["path", "diagnosis", "fold"]).to_csv(listing, index=False)
    data = _load(tmp_path, listing, data={"image_column": "path", "label_column": "diagnosis", "split_column": "fold"})
    assert data.report.given_splits == ["train", "test"] and data.report.split_sizes["test"] == 30
    # One split spelled several ways is one split, none of its rows lost
    spelled = [(*row[:2], ("train", "Train", " training ")[i % 3] if row[2] == "Training" else ("test", "TEST")[i % 2])
               for i, row in enumerate(rows)]
    pd.DataFrame(spelled, columns=["path", "diagnosis", "fold"]).to_csv(listing, index=False)
    data = _load(tmp_path, listing, data={"image_column": "path", "label_column": "diagnosis", "split_column": "fold"})
    assert data.report.rows_read == 120 and data.report.split_sizes["test"] == 30
    assert sum(data.report.split_sizes.values()) == 120
    for unknown in ("holdout", "all"):  # "all" is no split either, whatever the code calls a source without one
        pd.DataFrame([(*row[:2], unknown if row[2] == "test" else row[2]) for row in rows],
                     columns=["path", "diagnosis", "fold"]).to_csv(listing, index=False)
        with pytest.raises(DataError, match=rf"the split '{unknown}' .* is not train, validation"):
            _load(tmp_path, listing, data={"image_column": "path", "label_column": "diagnosis", "split_column": "fold"})


def test_a_wrapper_folder_a_class_without_images_and_an_unnamed_class(tmp_path):
    from finetune_cookbook.core.errors import DataError

    wrapped = _split_tree(tmp_path / "download" / "brain-scans")
    with pytest.raises(DataError, match=r"every image has the class 'brain-scans'; a classifier needs two classes or "
                                        r"more .* point data.source at it"):
        _load(tmp_path, tmp_path / "download")
    with pytest.raises(DataError, match=r"data.labels names 'cyst', but no image has that class \(the classes are the "
                                        r"names of the class folders: 'benign', 'malignant'\)"):
        _load(tmp_path, SAMPLES, data={"labels": ["benign", "cyst", "malignant"]})
    with pytest.raises(DataError, match=r"the classes are the names of the class folders, and they include "
                                        r"'malignant' \(malignant/malignant_001\.png ...\), which data.labels does not"):
        _load(tmp_path, SAMPLES, data={"labels": ["benign", "normal"]})
    # Splits named so that no split can be read from the names: the folders would become the classes.
    (wrapped / "Training").rename(wrapped / "part1")
    (wrapped / "Testing").rename(wrapped / "part2")
    with pytest.raises(DataError, match=r"include 'part1' \(part1/benign/.*, 'part2' .* each hold the same folders "
                                        r"\(benign, malignant\).* rename them"):
        _load(tmp_path, wrapped)
    data = _load(tmp_path, wrapped, data={"labels": None})
    assert data.labels == ["part1", "part2"] and any("each hold the same folders" in note for note in data.report.notes)
    # Class folders sorted the same way inside, named in data.labels (spelled as the user likes): no warning
    (wrapped / "part1" / "README.md").write_text("scanner A")
    data = _load(tmp_path, wrapped, data={"labels": ["Part1", "PART2"]})
    assert not any("each hold the same folders" in note for note in data.report.notes)
    # One class spelled two ways, in two split folders
    spelled = _split_tree(tmp_path / "spelled")
    (spelled / "Testing" / "benign").rename(spelled / "Testing" / "Benign")
    with pytest.raises(DataError, match=r"the classes 'Benign', 'benign' differ only in how they are written"):
        _load(tmp_path, spelled, data={"labels": None})


def test_train_under_torchrun_with_two_processes(tmp_path):
    done = torchrun_cookbook("train", image_config(tmp_path), timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("test: accuracy") == 1
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()


@pytest.mark.parametrize("ema_decay", [None, 0.9], ids=["plain", "weight_average"])
def test_an_interrupted_run_resumes_to_the_same_model(tmp_path, ema_decay):
    """Checkpoints hold everything training needs, the moving average of the weights included."""
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    from finetune_cookbook.config import load_config
    from finetune_cookbook.recipe import train

    class Interrupt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == steps_per_epoch + 1:
                raise KeyboardInterrupt("simulated Ctrl-C")

    config = load_config(image_config(tmp_path, training={"ema_decay": ema_decay}))
    whole = train(config, tmp_path / "whole")
    steps_per_epoch = -(-whole.data.report.split_sizes["train"] // config.training.batch_size)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "cut", callbacks=[Interrupt()])
    assert not (tmp_path / "cut" / "model").exists()
    resumed = train(config, tmp_path / "cut", resume=True)
    assert resumed.metrics == pytest.approx(whole.metrics, abs=1e-6)
    assert ("moving average" in (whole.model_dir / "README.md").read_text()) == (ema_decay is not None)
    for name, tensor in load_file(whole.model_dir / "model.safetensors").items():
        assert np.allclose(load_file(resumed.model_dir / "model.safetensors")[name].numpy(), tensor.numpy(), atol=1e-6), name


def test_split_folders_with_three_classes_and_the_search(tmp_path):
    """A dataset the recipe has never seen: split folders (Training / Testing), three classes, by config only."""
    from PIL import ImageOps

    root = tmp_path / "scans"
    for split, names in (("Training", range(1, 46)), ("Testing", range(46, 61))):
        for cls in ("benign", "malignant"):
            (root / split / cls).mkdir(parents=True)
            for i in names:
                shutil.copy(SAMPLES / cls / f"{cls}_{i:03d}.png", root / split / cls)
        (root / split / "cyst").mkdir()
        for i in names:  # a third class that looks different: inverted benign scans
            ImageOps.invert(Image.open(SAMPLES / "benign" / f"benign_{i:03d}.png").convert("L")).save(
                root / split / "cyst" / f"cyst_{i:03d}.png")
    # The search's trials also train with layer-wise learning rates and a moving average of the weights.
    config = image_config(tmp_path, source=root, data={"labels": None}, training={"layer_decay": 0.8, "ema_decay": 0.9},
                          evaluation={"positive_class": "malignant"}, tune={"n_trials": 1, "epochs": [1, 1]})
    run_in_process("train", config)
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["data"]["given_splits"] == ["train", "test"] and record["data"]["made_splits"] == ["validation"]
    assert record["data"]["split_sizes"]["test"] == 45  # the Testing folder, as given
    scores = record["approaches"]["fine_tuned"]
    assert {"roc_auc", "sensitivity", "recall_cyst"} <= set(scores)  # one-vs-rest AUC; malignant against the rest
    stdout, _ = run_in_process("tune", config)
    assert "best validation roc_auc" in stdout
    assert (tmp_path / "run" / "search" / "best_training.yaml").is_file()


def _mirrored_copies(paths, folder: Path) -> list[str]:
    folder.mkdir()
    copies = []
    for i, path in enumerate(paths):
        copy = folder / f"mirrored_{i}.png"
        Image.open(path).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(copy)
        copies.append(str(copy))
    return copies


def test_test_time_flips_make_scores_and_predictions_blind_to_mirroring(tmp_path):
    """With `model.test_time_flip` an image counts as the mean of itself and its mirror image, so a mirrored test
    image scores the same: in the frozen approach's test scores and in a saved model's predictions alike."""
    import dataclasses

    from finetune_cookbook.config import load_config
    from finetune_cookbook.recipe import train
    from finetune_cookbook.tasks import image_classification as task

    config = load_config(image_config(tmp_path, model={"test_time_flip": True}))
    data = task.load_data(config)
    test = data.splits["test"]
    mirrored = dataclasses.replace(data, splits={**data.splits, "test": test.assign(
        **{task.IMAGE: _mirrored_copies(test[task.IMAGE], tmp_path / "mirrored_test")})})
    plain_config = dataclasses.replace(config, model=dataclasses.replace(config.model, test_time_flip=False))
    assert not np.allclose(task.frozen_baseline(data, plain_config).probabilities,
                           task.frozen_baseline(mirrored, plain_config).probabilities, atol=1e-3)
    assert np.allclose(task.frozen_baseline(data, config).probabilities,
                       task.frozen_baseline(mirrored, config).probabilities, atol=1e-4)

    model_dir = train(config, tmp_path / "run").model_dir
    originals = [str(SAMPLES / cls / f"{cls}_00{i}.png") for cls in ("benign", "malignant") for i in (1, 2, 3)]
    copies = _mirrored_copies(originals, tmp_path / "mirrored_scans")
    probabilities = ["p_benign", "p_malignant"]
    predicted = task.predict(model_dir, originals)[probabilities].to_numpy()
    assert np.allclose(predicted, task.predict(model_dir, copies)[probabilities].to_numpy(), atol=2e-4)
    info = json.loads((model_dir / "cookbook.json").read_text())
    assert info["test_time_flip"] is True
    (model_dir / "cookbook.json").write_text(json.dumps({**info, "test_time_flip": False}))
    assert not np.allclose(task.predict(model_dir, originals)[probabilities].to_numpy(),
                           task.predict(model_dir, copies)[probabilities].to_numpy(), atol=2e-4)


def test_crossval_compares_configs_on_the_same_folds(tmp_path):
    """`cookbook crossval` fine-tunes each config once per fold of train + validation, prints a row per config
    and records every fold's cross-fitted scores; a task without it says what to use instead."""
    from finetune_cookbook.config import load_config
    from finetune_cookbook.tasks import image_classification as task

    configs = []
    for name, flip in (("plain", False), ("flipped", True)):
        (tmp_path / name).mkdir()
        configs.append(image_config(tmp_path / name, model={"test_time_flip": flip}))
    stdout, _ = run_in_process("crossval", *configs, "--folds", "2")
    assert str(configs[0]) in stdout and str(configs[1]) in stdout and "roc_auc per fold" in stdout
    records = [json.loads((tmp_path / name / "run" / "crossval-config.json").read_text()) for name in ("plain", "flipped")]
    splits = task.load_data(load_config(configs[0])).splits
    pooled = len(splits["train"]) + len(splits["validation"])
    for record in records:
        assert [f["fold"] for f in record["folds"]] == [1, 2]
        held = [row for fold in record["folds"] for row in fold["held_out_rows"]]
        assert sorted(held) == list(range(pooled)) == list(range(record["pooled_rows"]))  # every pooled row once
        assert all(0 <= f["roc_auc"] <= 1 and len(f["kept_epochs"]) == 2 for f in record["folds"])
        assert record["roc_auc"] == pytest.approx(np.mean([f["roc_auc"] for f in record["folds"]]))
    assert [f["held_out_rows"] for f in records[0]["folds"]] == [f["held_out_rows"] for f in records[1]["folds"]]

    (tmp_path / "plain" / "run" / "crossval-config.json").unlink()
    _, err = run_in_process("crossval", configs[0], ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml",
                            expect=2)
    assert "serves image recipes" in err and "cookbook tune" in err
    assert not (tmp_path / "plain" / "run" / "crossval-config.json").exists()  # refused before the first config ran
    _, err = run_in_process("crossval", configs[0], configs[0], expect=2)
    assert "would write the same record" in err


def test_recording_validation_probabilities_leaves_the_fine_tune_as_it_is(tmp_path):
    """The folds' fine-tunes are the recipe's own: the callback that keeps every epoch's validation probabilities
    changes nothing; its plain probabilities are what training scored each epoch, and its mirror-averaged ones
    what evaluation reports."""
    from finetune_cookbook.config import load_config
    from finetune_cookbook.core.crossval import ValidationHistory, fold_data
    from finetune_cookbook.core.metrics import roc_auc
    from finetune_cookbook.tasks import image_classification as task

    config = load_config(image_config(tmp_path, model={"test_time_flip": True}))
    _, fold = fold_data(task.load_data(config), 2, config.data.seed)[0]
    alone = task.fine_tune(fold, config, tmp_path / "alone").result
    history = ValidationHistory(task.batch_views(config))
    run = task.fine_tune(fold, config, tmp_path / "recorded", callbacks=[history])
    assert run.result.metrics == pytest.approx(alone.metrics, abs=1e-6)
    truth, positive = fold.label_ids("validation"), task.positive_index(config, fold.labels)
    logged = [entry["eval_roc_auc"] for entry in run.trainer.state.log_history if "eval_roc_auc" in entry]
    assert len(history.plain) == len(history.averaged) == len(logged) == config.training.epochs
    assert [roc_auc(truth, epoch, positive) for epoch in history.plain] == pytest.approx(logged, abs=1e-3)
    assert not np.allclose(history.plain[-1], history.averaged[-1], atol=1e-3)
    assert any(np.allclose(epoch, run.result.validation_probabilities, atol=1e-4) for epoch in history.averaged)


def test_a_step_floor_adds_whole_epochs_to_the_fine_tune_and_the_search_trials(tmp_path):
    import pandas as pd

    from finetune_cookbook.config import load_config
    from finetune_cookbook.tasks import get_task

    task = get_task("image_classification")
    rows = len(task.load_data(load_config(image_config(tmp_path))).splits["train"])
    per_epoch = -(-rows // 16)
    path = image_config(tmp_path, training={"epochs": 1, "min_steps": per_epoch + 1},
                        tune={"n_trials": 1, "epochs": [1, 1], "batch_size": [16]})
    config = load_config(path)
    run = task.fine_tune(task.load_data(config), config, tmp_path / "run")
    assert run.trainer.state.epoch == 2 and run.trainer.state.global_step == 2 * per_epoch
    run_in_process("tune", path)
    trials = pd.read_csv(tmp_path / "run" / "search" / "trials.csv")
    assert trials.loc[0, "num_train_epochs"] == 1 and trials.loc[0, "epochs_trained"] == 2
