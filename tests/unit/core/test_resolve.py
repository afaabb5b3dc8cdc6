import pytest

from finetune_cookbook.core.errors import ModelNotFoundError
from finetune_cookbook.core.io.resolve import looks_like_path, resolve_model


def test_local_folder_comes_first(tmp_path):
    assert resolve_model(str(tmp_path)) == str(tmp_path)


def test_packaged_model_resolves_offline():
    folder = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    assert folder.endswith("model")
    assert resolve_model("all-MiniLM-L6-v2") == folder


def test_unknown_hub_id_offline_says_what_to_do():
    with pytest.raises(ModelNotFoundError, match="HF_HUB_OFFLINE=1 forbids the hub"):
        resolve_model("distilbert-base-uncased")


def test_hub_id_is_kept_when_online(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert resolve_model("distilbert-base-uncased") == "distilbert-base-uncased"


@pytest.mark.parametrize("source,is_path", [
    ("data.csv", True), ("./data", True), ("../shared/datasets/x", True),
    ("imdb", False), ("SetFit/amazon_reviews", False),
])
def test_paths_and_hub_ids_are_told_apart(source, is_path):
    assert looks_like_path(source) is is_path
