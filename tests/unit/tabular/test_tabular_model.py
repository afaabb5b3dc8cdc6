"""The tabular model's two pre-training corruptions (what a hidden column becomes, what the loss counts, what the
anomaly score and the fine-tuning augmentation use), and the learning rate each network trains on labels at."""

import dataclasses
import json

import pytest
import torch
from conftest import ROOT

from finetune_cookbook.config import load_config
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.tabular import model as tabular_model
from finetune_cookbook.tabular.model import (
    TabularForClassification,
    TabularForMaskedFeatures,
    TabularModelConfig,
    matching_views_loss,
    swap_columns,
)
from finetune_cookbook.tabular.pretraining import Pretrained, classifier_from, labelled_training, pretrained_model_name

CARDINALITIES = [3, 4]


def rows(n=64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    numeric = torch.randn(n, 3, generator=generator)
    categorical = torch.stack([torch.randint(c, (n,), generator=generator) for c in CARDINALITIES], dim=1)
    return numeric, categorical


def model_config(corruption, **extra):
    return TabularModelConfig(n_numeric=3, cardinalities=CARDINALITIES, d_token=16, n_blocks=1, n_heads=2,
                              corruption=corruption, **extra)


def test_a_swapped_cell_takes_its_own_column_value_from_a_random_row():
    numeric, categorical = rows()
    mask = torch.zeros(len(numeric), 5, dtype=torch.bool)
    mask[:, 1] = mask[:, 4] = True
    torch.manual_seed(1)
    swapped_numeric, swapped_categorical = swap_columns(numeric, categorical, mask)
    torch.manual_seed(1)
    donors = torch.randint(len(numeric), (len(numeric), 5))
    assert torch.equal(swapped_numeric[:, [0, 2]], numeric[:, [0, 2]])  # shown cells are left alone
    assert torch.equal(swapped_categorical[:, 0], categorical[:, 0])
    assert torch.equal(swapped_numeric[:, 1], numeric[donors[:, 1], 1])  # the donor's value of the same column
    assert torch.equal(swapped_categorical[:, 1], categorical[donors[:, 4], 1])
    assert not torch.equal(swapped_numeric[:, 1], numeric[:, 1])


def test_swap_pretraining_rebuilds_every_column_and_mask_tokens_only_the_hidden_ones():
    numeric, categorical = rows()
    mask = torch.zeros(len(numeric), 5, dtype=torch.bool)
    mask[:, 0] = True
    for corruption in ("mask_token", "swap"):
        torch.manual_seed(0)
        model = TabularForMaskedFeatures(model_config(corruption)).eval()
        torch.manual_seed(2)
        losses = model.column_losses(numeric, categorical, mask)
        torch.manual_seed(2)
        loss = model(numeric, categorical, mask=mask)["loss"]
        expected = losses.mean() if corruption == "swap" else losses[:, 0].mean()
        assert loss.item() == pytest.approx(expected.item(), rel=1e-5), corruption


def test_swap_pretraining_never_uses_the_mask_tokens():
    numeric, categorical = rows()
    model = TabularForMaskedFeatures(model_config("swap"))
    with torch.no_grad():
        model.encoder.mask_tokens.fill_(float("nan"))
    assert torch.isfinite(model(numeric, categorical)["loss"])
    assert torch.isfinite(torch.as_tensor(model.anomaly_scores(numeric.numpy(), categorical.numpy()))).all()
    classifier = TabularForClassification(model_config("swap", augment_mask_rate=0.5)).train()
    classifier.encoder.load_state_dict(model.encoder.state_dict())
    assert torch.isfinite(classifier(numeric, categorical)["logits"]).all()  # the augmentation swaps as well


@pytest.mark.parametrize("corruption", ["mask_token", "swap"])
def test_anomaly_scores_are_the_same_every_time(corruption):
    numeric, categorical = rows()
    model = TabularForMaskedFeatures(model_config(corruption))
    first = model.anomaly_scores(numeric.numpy(), categorical.numpy())
    torch.manual_seed(123)  # the global random state plays no part
    assert (model.anomaly_scores(numeric.numpy(), categorical.numpy()) == first).all()


def test_a_swap_anomaly_score_does_not_depend_on_the_rows_scored_with_it():
    numeric, categorical = rows()
    model = TabularForMaskedFeatures(model_config("swap"))
    together = model.anomaly_scores(numeric.numpy(), categorical.numpy())
    alone = model.anomaly_scores(numeric[:1].numpy(), categorical[:1].numpy())
    assert alone[0] == pytest.approx(together[0], rel=1e-5)


def test_each_column_hidden_alone_in_one_pass_is_the_pass_per_column_and_ignores_its_batch():
    """`each_hidden_losses` hides column j in copy j of the batch and runs every copy at once: column j's loss must
    be the one a pass with only column j hidden gives, whatever rows share the batch and however it is cut."""
    numeric, categorical = rows(n=9)
    model = TabularForMaskedFeatures(model_config("mask_token")).eval()
    with torch.no_grad():
        together = model.each_hidden_losses(numeric, categorical)
        for j in range(5):
            alone = torch.zeros(len(numeric), 5, dtype=torch.bool)
            alone[:, j] = True
            torch.testing.assert_close(together[:, j], model.column_losses(numeric, categorical, alone)[:, j])
        torch.testing.assert_close(model.each_hidden_losses(numeric[4:5], categorical[4:5]), together[4:5])
    scores = model.anomaly_scores(numeric.numpy(), categorical.numpy())
    assert model.anomaly_scores(numeric.numpy(), categorical.numpy(), batch_size=5) == pytest.approx(scores, abs=1e-6)


def test_fisher_surprise_counts_the_usual_value_as_usual_and_a_value_beyond_every_training_row_as_rarest():
    import numpy as np

    from finetune_cookbook.tabular.model import TAIL_LEVELS, fisher_surprise

    training = np.concatenate([np.zeros(1800), np.linspace(1, 2, 200)])  # most rows share one loss (a common category)
    quantiles = np.quantile(training, TAIL_LEVELS)[None, :]
    scores = fisher_surprise(torch.tensor([[0.0], [1.5], [9.0], [-1.0]]), quantiles).numpy()
    assert scores[0] == pytest.approx(0.0) and scores[3] == 0.0  # the loss most rows have, or less: not rare at all
    assert scores[1] == pytest.approx(-np.log(0.05), rel=0.05)  # half-way along the top tenth: p about 0.05
    assert scores[2] == pytest.approx(np.log(2001))  # beyond every training row: one in rows + 1



def test_fisher_surprise_does_not_jump_on_float_noise_at_a_top_knot_many_rows_share():
    """A rare category's loss is the largest and the top quantiles repeat it: the same loss a rounding error
    above (another batch, ONNX Runtime) is as rare as the loss itself, not one in rows + 1."""
    import numpy as np

    from finetune_cookbook.tabular.model import TAIL_LEVELS, fisher_surprise

    training = np.concatenate([np.linspace(0, 1, 1900), np.full(100, 3.0)])  # the top 5% share one loss
    quantiles = np.quantile(training, TAIL_LEVELS)[None, :]
    at_top, noise, far = fisher_surprise(torch.tensor([[3.0], [3.0 * (1 + 1e-6)], [3.5]], dtype=torch.float64),
                                         quantiles).numpy()
    assert noise == pytest.approx(at_top) and at_top == pytest.approx(-np.log(0.05), rel=0.05)
    assert far == pytest.approx(np.log(2001))

def test_each_anomaly_score_kind_finds_a_row_that_breaks_a_rule_or_has_an_extreme_value():
    """Pre-trained on rows whose second number copies the first: a row that breaks that copy is found by
    `each_hidden`, a row with a far-out first number (copied, so the rule holds) by `all_hidden`, and `either`
    finds both."""
    import numpy as np

    generator = torch.Generator().manual_seed(0)
    numeric, categorical = rows(256)
    numeric[:, 1] = numeric[:, 0]
    model = TabularForMaskedFeatures(model_config("mask_token", mask_rate=0.4))
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(100):
        batch = torch.randint(len(numeric), (64,), generator=generator)
        loss = model(numeric[batch], categorical[batch])["loss"]
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.calibrate_surprise(numeric.numpy(), categorical.numpy())
    test_numeric, test_categorical = numeric[:40].clone(), categorical[:40]
    test_numeric[0, 1] = -test_numeric[0, 0] + 2.0  # breaks the copy
    test_numeric[1, :2] = 4.5  # copied, but far from any training value
    for kind, strange in (("each_hidden", [0]), ("all_hidden", [1]), ("either", [0, 1])):
        scores = model.anomaly_scores(test_numeric.numpy(), test_categorical.numpy(), kind=kind)
        ranked = list(np.argsort(-scores)[:len(strange)])
        assert sorted(ranked) == strange, (kind, scores[:4])


def test_the_corruption_is_saved_and_a_checkpoint_from_before_it_reads_as_mask_token(tmp_path):
    TabularForMaskedFeatures(model_config("swap")).save_pretrained(tmp_path)
    assert TabularForMaskedFeatures.from_pretrained(tmp_path).config.corruption == "swap"
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["corruption"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert TabularForMaskedFeatures.from_pretrained(tmp_path).config.corruption == "mask_token"


def test_matching_views_are_cheap_and_mismatched_ones_costly():
    views = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))
    others = torch.randn(16, 8, generator=torch.Generator().manual_seed(1))
    shuffled = views[torch.roll(torch.arange(16), 1)]
    assert matching_views_loss(views, views, temperature=0.1) < 0.1
    assert matching_views_loss(views, shuffled, temperature=0.1) > 2.0
    # At the temperature pre-training uses, matching views still beat mismatched ones, by less.
    assert matching_views_loss(views, views) + 0.5 < matching_views_loss(views, shuffled)
    assert matching_views_loss(views, others).item() == pytest.approx(matching_views_loss(others, views).item())


@pytest.mark.parametrize("corruption", ["mask_token", "swap"])
def test_the_contrastive_term_matches_two_independent_corruptions_in_training_only(corruption, monkeypatch):
    numeric, categorical = rows()
    mask = torch.zeros(len(numeric), 5, dtype=torch.bool)
    mask[:, 2] = True
    torch.manual_seed(0)
    model = TabularForMaskedFeatures(model_config(corruption, contrastive_weight=0.5))
    model.encoder.eval()  # no dropout, so each pass can be repeated exactly
    drawn = []
    original = tabular_model.random_mask
    monkeypatch.setattr(tabular_model, "random_mask", lambda *a, **k: drawn.append(original(*a, **k)) or drawn[-1])
    torch.manual_seed(3)
    loss = model(numeric, categorical, mask=mask)["loss"]
    (second_mask,) = drawn
    assert not torch.equal(second_mask, mask)
    torch.manual_seed(3)
    first_view = model.encoder(numeric, categorical, mask)
    rebuilding = model._rebuilding_losses(first_view.float(), numeric, categorical)
    rebuilding = rebuilding.mean() if corruption == "swap" else (rebuilding * mask).sum() / mask.sum()
    original(mask.shape, model.config.mask_rate)  # the random state the forward pass left for the second swap
    second_view = model.encoder(numeric, categorical, second_mask)
    views = matching_views_loss(model.projection(first_view), model.projection(second_view))
    assert loss.item() == pytest.approx((rebuilding + 0.5 * views).item(), rel=1e-5)
    torch.manual_seed(3)
    assert model.eval()(numeric, categorical, mask=mask)["loss"].item() == pytest.approx(rebuilding.item(), rel=1e-5)
    loss.backward()
    assert model.projection[0].weight.grad.abs().sum() > 0


def test_swap_pretraining_with_views_never_uses_the_mask_tokens():
    numeric, categorical = rows()
    model = TabularForMaskedFeatures(model_config("swap", contrastive_weight=1.0)).train()
    with torch.no_grad():
        model.encoder.mask_tokens.fill_(float("nan"))
    assert torch.isfinite(model(numeric, categorical)["loss"])


def test_a_contrastive_checkpoint_keeps_its_projection_and_fine_tunes_like_any_other(tmp_path):
    saved = TabularForMaskedFeatures(model_config("swap", contrastive_weight=1.0))
    saved.save_pretrained(tmp_path)
    pretrained = TabularForMaskedFeatures.from_pretrained(tmp_path)
    assert pretrained.config.contrastive_weight == 1.0
    assert torch.equal(pretrained.projection[0].weight, saved.projection[0].weight)
    classifier = classifier_from(Pretrained(tmp_path, None, pretrained, 0.0), pretrained.config, seed=1)
    assert torch.equal(classifier.encoder.cls, saved.encoder.cls)
    numeric, categorical = rows()
    assert classifier(numeric, categorical)["logits"].shape == (len(numeric), 2)


def test_the_model_name_says_when_pre_training_was_contrastive_too():
    recipe = ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml"
    assert "contrastive" not in pretrained_model_name(load_config(recipe))
    named = pretrained_model_name(load_config(recipe, {"pretrain": {"contrastive_weight": 1.0}}))
    assert named.startswith("FT-Transformer pre-trained by masked-feature reconstruction and contrastive views")


def test_a_negative_contrastive_weight_is_refused():
    with pytest.raises(ConfigError, match=r"pretrain\.contrastive_weight is -1"):
        load_config(ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml",
                    {"pretrain": {"contrastive_weight": -1}})


def test_an_unknown_corruption_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match=r"pretrain\.corruption.*mask_token.*swap|pretrain\.corruption.*swap.*mask_token"):
        load_config(ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml", {"pretrain": {"corruption": "blank"}})


@pytest.mark.parametrize("value, message", [
    (["each_hidden", "strangest"], r"pretrain\.anomaly_score is 'strangest'; choose one of all_hidden, each_hidden"),
    ([], r"pretrain\.anomaly_score is an empty list"),
])
def test_a_list_of_pretrained_scores_names_only_known_kinds(value, message):
    recipe = ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml"
    with pytest.raises(ConfigError, match=message):
        load_config(recipe, {"pretrain": {"anomaly_score": value}})
    assert load_config(recipe, {"pretrain": {"anomaly_score": "all_hidden"}}).pretrain.anomaly_scores == ["all_hidden"]


def test_the_pretrained_network_fine_tunes_at_its_own_rate_and_scratch_at_training_rate():
    config = load_config(ROOT / "recipes" / "marketing_segmentation" / "config.yaml",
                         {"pretrain": {"fine_tune_learning_rate": 3.0e-3}, "training": {"learning_rate": 1.0e-3}})
    assert labelled_training(config, None, from_pretrained=True, seed=7).learning_rate == 3.0e-3
    scratch = labelled_training(config, None, from_pretrained=False, seed=7)
    assert (scratch.learning_rate, scratch.seed) == (1.0e-3, 7)
    found = dataclasses.replace(config.training, learning_rate=5.0e-4)  # what a search chose is used as found
    assert labelled_training(config, found, from_pretrained=True, seed=7).learning_rate == 5.0e-4
    unset = load_config(ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml")
    assert unset.pretrain.fine_tune_learning_rate is None
    assert labelled_training(unset, None, True, 1).learning_rate == unset.training.learning_rate


@pytest.mark.parametrize("rate", [0.0, -1.0e-3, 2.0])
def test_a_fine_tune_learning_rate_outside_0_1_is_refused(rate):
    with pytest.raises(ConfigError, match=r"pretrain\.fine_tune_learning_rate is"):
        load_config(ROOT / "recipes" / "marketing_segmentation" / "config.yaml",
                    {"pretrain": {"fine_tune_learning_rate": rate}})


class Trained(Exception):
    """Stands in for training: the spy has seen what it needed."""


@pytest.mark.parametrize("task", ["segmentation", "anomaly_detection"])
def test_each_task_trains_the_pretrained_network_at_its_own_rate(task, monkeypatch):
    from types import SimpleNamespace

    import numpy as np

    from finetune_cookbook.tasks import anomaly_detection, segmentation

    module = {"segmentation": segmentation, "anomaly_detection": anomaly_detection}[task]
    recipe = {"segmentation": "marketing_segmentation", "anomaly_detection": "fraud_anomaly_detection"}[task]
    # the weights as trained (no shares to try): the stubs below stop at the first fit
    overrides = {"pretrain": {"fine_tune_learning_rate": 4.0e-3, "fine_tune_shares": [1.0]},
                 "training": {"learning_rate": 2.0e-4}}
    if task == "anomaly_detection":  # one rate, not a choice among `fraud.learning_rates` (tested below)
        overrides["fraud"] = {"learning_rates": []}
    config = load_config(ROOT / "recipes" / recipe / "config.yaml", overrides)
    rates = {}

    def spy(*args, from_pretrained, **kwargs):
        rates[from_pretrained] = args[6].learning_rate  # fit_classifier's `training`
        raise Trained

    monkeypatch.setattr(module, "fit_classifier", spy)
    rows = SimpleNamespace(take=lambda index: None)
    data = SimpleNamespace(splits={"train": None, "validation": None}, report=SimpleNamespace(source="customers"),
                           targets=lambda split: np.zeros(4, dtype=int))
    pretrained = SimpleNamespace(encoder=SimpleNamespace(encode=lambda frame, origin: None))
    for from_pretrained in (True, False):
        with pytest.raises(Trained):
            if task == "segmentation":
                module.response_model(data, config, pretrained, "unused", from_pretrained=from_pretrained, seed=1)
            else:
                encoded = SimpleNamespace(rows={"train": rows, "validation": None},
                                          split_rows=lambda split, prior=False: rows if split == "train" else None)
                module.network(data, config, encoded, pretrained, np.arange(2), "unused",
                               from_pretrained=from_pretrained, seed=1)
    assert rates == {True: 4.0e-3, False: 2.0e-4}


def test_each_fraud_network_keeps_the_rate_that_ranks_validation_best(monkeypatch):
    """With `fraud.learning_rates`, the pre-trained network and the one from scratch alike train at every rate,
    and the run whose validation average precision is highest is the one scored."""
    from types import SimpleNamespace

    import numpy as np

    from finetune_cookbook.core.measure import Measurement
    from finetune_cookbook.tasks import anomaly_detection

    config = load_config(ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml",
                         {"fraud": {"learning_rates": [1.0e-4, 1.0e-3, 3.0e-4], "starts": ["head"]}})
    validation = np.array([0, 0, 0, 1, 0, 1])
    good = validation + 0.1 * np.arange(6)  # ranks the two frauds first
    tried = []

    def fit(*args, from_pretrained, **kwargs):
        rate = args[6].learning_rate
        tried.append((from_pretrained, rate))
        return (SimpleNamespace(rate=rate, config=SimpleNamespace()), SimpleNamespace(state=SimpleNamespace(global_step=5), steps_this_run=3),
                Measurement(2.0, {1.0e-4: 300.0, 1.0e-3: 100.0, 3.0e-4: 200.0}[rate]))

    monkeypatch.setattr(anomaly_detection, "fit_classifier", fit)
    monkeypatch.setattr(anomaly_detection, "positive_scores",
                        lambda model, rows: good if model.rate == 1.0e-3 else good[::-1])
    seen = {}
    monkeypatch.setattr(anomaly_detection, "score_approach",
                        lambda name, data, config, test, valid, cost, rows_seen, **k: seen.setdefault(name, SimpleNamespace(
                            metrics={"threshold": 0.5}, validation=valid, cost=cost, rows_seen=rows_seen)))
    rows = SimpleNamespace(take=lambda index: None)
    data = SimpleNamespace(targets=lambda split: validation)
    encoded = SimpleNamespace(split_rows=lambda split, prior=False: rows if split == "train" else None)
    for from_pretrained in (True, False):
        done = anomaly_detection.network(data, config, encoded, None, np.arange(2), "unused",
                                         from_pretrained=from_pretrained, seed=1)
        assert done.result.metrics["learning_rate"] == 1.0e-3
        assert done.result.validation is good
        # what the network cost is every rate's training: 3 runs of 2 s, 3 steps of 64 rows each (the 2 steps a
        # resumed run took before its checkpoint are not this run's)
        assert done.result.cost.seconds == 6.0 and done.result.rows_seen == 3 * 3 * config.training.batch_size
        assert done.result.cost.peak_memory_mb == 300.0  # the most any rate took, not the kept (1e-3) or last one's
    assert sorted(tried) == sorted((p, r) for p in (True, False) for r in (1.0e-4, 1.0e-3, 3.0e-4))


def test_the_prior_start_ranks_rows_as_the_pretrained_score_until_the_labels_adjust_it(tmp_path):
    """`fraud.starts: prior`: the classifier adds each row's prior (the pre-trained score in standard units) to its
    fraud logit with a learned weight, its head at zero, so before any step its ranking is the prior's; it refuses
    rows without a prior, and saves and loads its weight."""
    from types import SimpleNamespace

    from finetune_cookbook.tabular.pretraining import start_classifier

    config = load_config(ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml")
    torch.manual_seed(0)
    pretrained = SimpleNamespace(model=TabularForMaskedFeatures(model_config("mask_token")))
    model = start_classifier(pretrained, config, None, None, seed=3, prior_scale=[2.0, 4.0]).eval()
    plain = start_classifier(pretrained, dataclasses.replace(config, pretrain=dataclasses.replace(
        config.pretrain, probe_first=False)), None, None, seed=3)
    assert model.has_prior and not plain.has_prior
    assert torch.equal(model.encoder.cls, pretrained.model.encoder.cls)  # the pre-trained encoder, as the head start
    numeric, categorical = rows()
    prior = torch.randn(len(numeric))
    logits = model(numeric, categorical, prior=prior)["logits"]
    assert torch.allclose(logits[:, 1] - logits[:, 0], prior)
    with pytest.raises(ValueError, match="pass `prior`"):
        model(numeric, categorical)
    with torch.no_grad():
        model.prior_weight.fill_(0.25)
    model.save_pretrained(tmp_path)
    loaded = TabularForClassification.from_pretrained(tmp_path).eval()
    assert loaded.config.prior_scale == [2.0, 4.0] and loaded.prior_weight.item() == 0.25
    assert torch.allclose(loaded(numeric, categorical, prior=prior)["logits"],
                          model(numeric, categorical, prior=prior)["logits"])


def test_the_fine_tuned_network_keeps_the_start_that_ranks_validation_best(monkeypatch):
    """With `fraud.starts: [head, prior]` the pre-trained network trains from each start at every rate, the rows of
    the prior start carrying their prior; the run that ranks validation best is kept and its start recorded. The
    network from scratch has its random start only."""
    from types import SimpleNamespace

    import numpy as np

    from finetune_cookbook.core.measure import Measurement
    from finetune_cookbook.tasks import anomaly_detection

    config = load_config(ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml",
                         {"fraud": {"learning_rates": [1.0e-4, 1.0e-3], "starts": ["head", "prior"]}})
    validation = np.array([0, 0, 0, 1, 0, 1])
    good = validation + 0.1 * np.arange(6)
    tried = []

    def fit(pretrained, config, train, *args, from_pretrained, prior_scale, **kwargs):
        tried.append((from_pretrained, prior_scale is not None, train.prior, args[3].learning_rate))
        model = SimpleNamespace(prior=prior_scale is not None, rate=args[3].learning_rate, config=SimpleNamespace())
        return model, SimpleNamespace(steps_this_run=3), Measurement(1.0, 10.0)

    monkeypatch.setattr(anomaly_detection, "fit_classifier", fit)
    monkeypatch.setattr(anomaly_detection, "positive_scores",
                        lambda model, rows: good if model.prior and model.rate == 1.0e-4 else good[::-1])
    monkeypatch.setattr(anomaly_detection, "score_approach",
                        lambda name, *args, **kwargs: SimpleNamespace(metrics={"threshold": 0.5}))

    def split_rows(split, prior=False):
        return SimpleNamespace(prior=prior, take=lambda index: SimpleNamespace(prior=prior))

    data = SimpleNamespace(targets=lambda split: validation)
    encoded = SimpleNamespace(split_rows=split_rows, prior_scale=[0.0, 1.0])
    done = anomaly_detection.network(data, config, encoded, None, np.arange(2), "unused", from_pretrained=True, seed=1)
    assert done.result.metrics["prior_start"] == 1.0 and done.result.metrics["learning_rate"] == 1.0e-4
    assert sorted(tried) == sorted((True, prior, prior, rate) for prior in (False, True) for rate in (1.0e-4, 1.0e-3))
    tried.clear()
    scratch = anomaly_detection.network(data, config, encoded, None, np.arange(2), "unused", from_pretrained=False,
                                        seed=1)
    assert "prior_start" not in scratch.result.metrics
    assert sorted(tried) == [(False, False, False, 1.0e-4), (False, False, False, 1.0e-3)]


def test_a_model_trained_again_into_the_same_folder_is_not_scored_with_the_cached_one(tmp_path):
    """The pre-trained model beside a saved fraud model is cached for a service's many batches; a run trained again
    into the same folder (a notebook re-run) writes new weights, and the next load reads them."""
    import os

    from finetune_cookbook.tasks.anomaly_detection import kept

    folder = tmp_path / "model"
    for seed, stamp in ((0, 1_000_000_000), (1, 2_000_000_000)):
        torch.manual_seed(seed)
        TabularForClassification(model_config("mask_token")).save_pretrained(folder)
        kept.save_prior_model(folder, TabularForMaskedFeatures(model_config("mask_token")))
        os.utime(folder / "model.safetensors", ns=(stamp, stamp))  # as a later write would stamp it
        loaded = kept.load_prior_model(tmp_path)
        expected = TabularForMaskedFeatures.from_pretrained(folder / kept.PRETRAINED_FOLDER)
        assert torch.equal(loaded.encoder.cls, expected.encoder.cls), seed
    assert kept.load_prior_model(folder) is loaded  # the same write, from the cache


def test_the_fine_tuned_network_keeps_the_share_of_its_change_that_ranks_validation_best(monkeypatch):
    """`pretrain.fine_tune_shares` (WiSE-FT): each pre-trained run is moved back toward the weights it started from,
    keeping each share of what fine-tuning changed; the share that ranks validation best is the network scored (and
    saved), and recorded. The network from scratch is not moved, nor started twice."""
    from types import SimpleNamespace

    import numpy as np

    from finetune_cookbook.core.measure import Measurement
    from finetune_cookbook.tasks import anomaly_detection

    config = load_config(ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml",
                         {"fraud": {"learning_rates": [1.0e-4], "starts": ["head"]},
                          "pretrain": {"fine_tune_shares": [0.25, 0.5, 0.75, 1.0]}})
    validation = np.array([0, 0, 0, 1, 0, 1])
    good = validation + 0.1 * np.arange(6)
    starts = []

    def start(*args, **kwargs):
        starts.append(args[5])  # from_pretrained
        model = torch.nn.Linear(1, 1, bias=False)
        model.register_buffer("steps", torch.tensor(0))
        torch.nn.init.zeros_(model.weight)
        return model

    def fit(*args, from_pretrained, model, **kwargs):
        model = model or start(*args[:5], from_pretrained)
        with torch.no_grad():  # "fine-tuning" moves the weight from 0 to 1 in 7 steps
            model.weight.fill_(1.0)
            model.steps.fill_(7)
        model.config = SimpleNamespace()
        return model, SimpleNamespace(steps_this_run=3, model=model), Measurement(1.0, 10.0)

    monkeypatch.setattr(anomaly_detection, "start_classifier", start)
    monkeypatch.setattr(anomaly_detection, "fit_classifier", fit)
    # validation ranks best halfway back: the weight at 0.5
    monkeypatch.setattr(anomaly_detection, "positive_scores",
                        lambda model, rows: good if abs(model.weight.item() - 0.5) < 1e-6 else good[::-1])
    monkeypatch.setattr(anomaly_detection, "score_approach",
                        lambda name, *args, **kwargs: SimpleNamespace(metrics={"threshold": 0.5}))
    rows = SimpleNamespace(take=lambda index: None)
    data = SimpleNamespace(targets=lambda split: validation)
    encoded = SimpleNamespace(split_rows=lambda split, prior=False: rows, prior_scale=None)
    done = anomaly_detection.network(data, config, encoded, None, np.arange(2), "unused", from_pretrained=True, seed=1)
    assert done.result.metrics["fine_tune_share"] == 0.5
    assert done.trainer.model.weight.item() == 0.5 and done.trainer.model.steps.item() == 7  # what is saved
    assert starts == [True]  # started once, by `network`, and handed to the fit
    scratch = anomaly_detection.network(data, config, encoded, None, np.arange(2), "unused", from_pretrained=False,
                                        seed=1)
    assert "fine_tune_share" not in scratch.result.metrics and starts == [True, False]


def test_moving_weights_part_of_the_way_back_keeps_counters_and_lands_exactly_at_either_end():
    from finetune_cookbook.tabular.pretraining import keep_best_share, move_weights, weights_of

    model = torch.nn.Linear(2, 1)
    model.register_buffer("steps", torch.tensor(0))
    start = weights_of(model)
    with torch.no_grad():
        model.weight.add_(torch.tensor([[0.3, -0.7]]))
        model.steps.fill_(9)
    end = weights_of(model)
    move_weights(model, start, end, 0.25)
    assert torch.allclose(model.weight, start["weight"] + 0.25 * (end["weight"] - start["weight"]))
    assert model.steps.item() == 9
    move_weights(model, start, end, 1.0)
    assert torch.equal(model.weight, end["weight"])
    tried = []

    def rank():  # the nearer the start, the better; each share is ranked once
        tried.append(model.weight.clone())
        return -float((model.weight - start["weight"]).abs().sum().detach())

    assert keep_best_share(model, start, [0.5, 0.0, 1.0], rank) == 0.0 and len(tried) == 3
    assert torch.equal(model.weight, start["weight"])
