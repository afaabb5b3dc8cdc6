# Two commands to start: `make run` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := "torch==2.14.1" "torchvision==0.29.1"
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install install-offline wheelhouse run test lab bench bench-serve docs check times exercises clean

install: $(STAMP)

PIP := $(BIN)/python -m pip install --quiet
# The ~230 packages besides torch: uv fetches and installs them side by side, where pip takes one after another
# (the CHANGELOG has both times), and compiles them as pip would: where PYTHONDONTWRITEBYTECODE is set, a module
# left uncompiled is compiled again by every process. install-offline hands them to pip.
INSTALL_REST ?= $(PIP) "uv>=0.9" && $(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode

# torch and torchvision are pinned here, and installed by pip, so that pip takes the wheels on this machine's disk
# (uv does not look there); pyproject.toml keeps the tested ranges for everyone else. pip would compile torch's
# modules one after another: compileall does it on every core (a file or two written for newer Pythons fail, as
# they do under pip).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) --no-compile $(TORCH)
	$(BIN)/python -c "import compileall, sysconfig; compileall.compile_dir(sysconfig.get_paths()['purelib'], quiet=2, workers=0)"
	$(INSTALL_REST) -e ".[dev,docs]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/cookbook run-notebooks --notebooks notebooks --output-dir outputs

# One pytest worker per core; each test file runs on one worker, so a module's trained model is built once. The
# longest files start first (tests/conftest.py, LONGEST_FIRST), in that order.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder -ra --durations=15

# For a workshop: learner copies of the notebooks, without the cells tagged `solution`, in notebooks/learner/.
exercises: $(STAMP)
	$(BIN)/cookbook exercises --notebooks notebooks

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

# Every approach of every domain on real data (benchmarks/results.*, with the naive twins' speed-ups and the share
# of the matmul peak), then how cost grows with the data (benchmarks/scale.*) and what each speed idea saves
# (benchmarks/speed_candidates.*). Then the README's headline table and
# benchmarks/summary.png are written again from the records.
bench: $(STAMP)
	$(BIN)/python benchmarks/data/make_generated_claims.py outputs/bench_data/generated_claims/claims.csv
	$(BIN)/cookbook bench recipes/*/bench_*.yaml --results-dir benchmarks
	$(BIN)/cookbook bench-scale recipes/review_sentiment/bench_alexa.yaml recipes/fraud_anomaly_detection/bench_insurance.yaml \
	  --results-dir benchmarks
	$(BIN)/cookbook bench-speed recipes/review_sentiment/bench_alexa.yaml recipes/tumor_image_classification/bench_brain_mri.yaml \
	  --results-dir benchmarks
	$(BIN)/cookbook headline

# The site in site/: README, docs/ and every notebook as make run executed it (a SMOKE run where it has not).
docs: $(STAMP)
	$(BIN)/cookbook docs --site site --outputs outputs

# A workshop laptop checked: one line per check, PASS or FAIL with the fix (made to finish in under 2 minutes).
check: $(STAMP)
	$(BIN)/cookbook check

# After `make run` (and `cookbook run-notebooks --smoke --output-dir outputs/smoke`): their times, with the CPU and
# precision, into benchmarks/notebook_times.json and docs/workshop.md.
times: $(STAMP)
	$(BIN)/cookbook notebook-times outputs outputs/smoke

# Export and serving measured: each servable recipe trained on its bundled sample (once), exported with int8, its
# backends timed and its service loaded on 127.0.0.1; writes benchmarks/serving.{json,md}.
SERVED := review_sentiment support_chatbot_intent tumor_image_classification fraud_anomaly_detection \
	marketing_segmentation
PRETRAINED := fraud_anomaly_detection marketing_segmentation
bench-serve: $(STAMP)
	for recipe in $(SERVED); do \
	  if ! test -d outputs/serve/$$recipe/model; then \
	    case " $(PRETRAINED) " in *" $$recipe "*) $(BIN)/cookbook pretrain recipes/$$recipe/config.yaml --output-dir outputs/serve/$$recipe || exit 1;; esac; \
	    $(BIN)/cookbook train recipes/$$recipe/config.yaml --output-dir outputs/serve/$$recipe || exit 1; \
	  fi; \
	done
	$(BIN)/cookbook bench-serve $(addprefix outputs/serve/,$(SERVED)) --results-dir benchmarks

# For a workshop: every wheel `make install` needs, downloaded once into wheelhouse/ (3.2 GB on Linux x86_64).
# Copy the clone with its wheelhouse to laptops of the same system and Python, and run `make install-offline` there.
wheelhouse:
	$(PYTHON) -m pip download --quiet --dest wheelhouse pip "setuptools>=68" $(TORCH) ".[dev,docs]"

install-offline:
	test -d wheelhouse || { echo "no wheelhouse/ here: run 'make wheelhouse' where there is a network, then copy it" >&2; exit 1; }
	PIP_NO_INDEX=1 PIP_FIND_LINKS="$(CURDIR)/wheelhouse" $(MAKE) install INSTALL_REST="$(PIP)"

clean:
	rm -rf outputs .pytest_cache site .site-build
