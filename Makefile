# Two commands to start: `make run` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install run test lab bench clean

install: $(STAMP)

# torch and torchvision are pinned here so pip takes the wheels on this machine's disk; pyproject.toml keeps
# the tested ranges for everyone else.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/cookbook run-notebooks --notebooks notebooks --output-dir outputs

# One pytest worker per core; each test file runs on one worker, so a module's trained model is built once.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile -ra --durations=15

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

bench: $(STAMP)
	$(BIN)/cookbook bench recipes/*/bench_*.yaml --results-dir benchmarks

clean:
	rm -rf outputs .pytest_cache
