# tracebias — everything runs from the project's own virtualenv (.venv), created on demand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export SPARK_LOCAL_IP := 127.0.0.1
export PYSPARK_PYTHON := $(abspath $(BIN)/python)

DEFAULT_CORPUS := data/default-corpus
DEFAULT_OUT    := results/default
SHARED         ?= ../shared/data
TORCH          ?= torch==2.13.0


.PHONY: notebooks report
.PHONY: help venv install run test test-fast bench bench-spark dist cluster-up cluster-down cluster-status cluster-submit clean

help:
	@echo "make run    - set up .venv, generate the default corpus, count it, print where results are"
	@echo "make test   - set up .venv and run the whole test suite"
	@echo "make notebooks - execute notebooks/*.ipynb headless against the default run (copies in results/notebooks/)"
	@echo "make report - figures + HTML report of the default run in report/"
	@echo "make bench  - benchmarks on the Wikipedia shards (writes docs/benchmarks.md)"
	@echo "make bench-spark - Spark vs the local runner: throughput per core, start-up, reduction cost"
	@echo "make dist   - the wheel and dist/tracebias-env.tar.gz (the executors' environment, kernels compiled)"
	@echo "make cluster-up / cluster-down / cluster-status - Spark standalone master + 2 workers on 127.0.0.1"
	@echo "make cluster-submit - run the counting job on that cluster (INPUT=..., OUT=...)"
	@echo "make clean  - remove generated data, results and build files (keeps .venv)"

# the engine's bytecode, written now: an editable install has none, and with
# PYTHONDONTWRITEBYTECODE=1 (common in containers) every run would compile the engine's modules
# again (0.07 s of each `tracebias count`'s start-up here, 2026-11-26)
PYC = @$(BIN)/python -m compileall -q engine jobs > /dev/null

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# the CPU build of torch first, so the [generate] extra never pulls a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[test,generate]'
	$(PYC)
	@touch $(STAMP)

venv install: $(STAMP)

$(DEFAULT_CORPUS)/PLANTED.json: $(STAMP)
	$(BIN)/tracebias synth $(DEFAULT_CORPUS) --model-outputs

run: $(STAMP) $(DEFAULT_CORPUS)/PLANTED.json
	$(BIN)/tracebias count $(DEFAULT_CORPUS)/documents --out $(DEFAULT_OUT) --lexicon default
	$(BIN)/tracebias count $(DEFAULT_CORPUS)/documents --out $(DEFAULT_OUT)-religion \
	    --lexicon holistic-bias --axis religion --targets default --window sentence --window document
	rm -f $(DEFAULT_OUT).duckdb
	$(BIN)/tracebias warehouse build --counts default=$(DEFAULT_OUT) \
	    --counts religion=$(DEFAULT_OUT)-religion --db $(DEFAULT_OUT).duckdb \
	    --generations $(DEFAULT_CORPUS)/generations.jsonl --set min_model_support=10 > /dev/null
	@echo
	@echo "Results:   $(abspath $(DEFAULT_OUT))  (gender x occupations: Parquet tables + manifest.json)"
	@echo "           $(abspath $(DEFAULT_OUT))-religion  (religion x occupations, K = 5 groups)"
	@echo "Warehouse: $(abspath $(DEFAULT_OUT)).duckdb"
	@echo "  try: $(BIN)/tracebias sql \"SELECT occupation, n, round(100 * p, 1) AS pct_female FROM data_default ORDER BY p\" --db $(DEFAULT_OUT).duckdb"

test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
	    || echo "make test: chromium could not be installed; the report's browser test will skip"
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not integration and not spark"

bench: $(STAMP)
	$(PYC)
	$(BIN)/python benchmarks/bench_count.py --shared $(SHARED) --out docs/benchmarks.md
	$(BIN)/python benchmarks/bench_models.py --out docs/benchmarks.md

notebooks: run
	$(BIN)/python tools/run_notebooks.py --db $(DEFAULT_OUT).duckdb

report: run
	$(BIN)/tracebias report --db $(DEFAULT_OUT).duckdb --out report

bench-spark: $(STAMP) dist
	$(PYC)
	$(BIN)/python benchmarks/bench_spark.py --shared $(SHARED) --out docs/benchmarks.md

ENGINE_FILES := $(shell find engine -type f \( -name '*.py' -o -name '*.json' -o -name '*.tsv' -o -name '*.sql' -o -name '*.md' \) -not -path '*/__pycache__/*')
dist/tracebias-env.tar.gz: $(STAMP) pyproject.toml $(ENGINE_FILES)
	$(BIN)/python -m engine.spark.packaging dist dist build/spark

dist: dist/tracebias-env.tar.gz

CLUSTER_DIR ?= .cluster
cluster-up: $(STAMP)
	$(BIN)/tracebias cluster up --dir $(CLUSTER_DIR) --workers 2

cluster-down: $(STAMP)
	$(BIN)/tracebias cluster down --dir $(CLUSTER_DIR)

cluster-status: $(STAMP)
	$(BIN)/tracebias cluster status --dir $(CLUSTER_DIR)

INPUT ?= $(DEFAULT_CORPUS)/documents
OUT   ?= results/cluster
cluster-submit: $(STAMP) $(DEFAULT_CORPUS)/PLANTED.json dist
	$(BIN)/tracebias spark-count $(INPUT) --out $(abspath $(OUT)) --master "$$($(BIN)/tracebias cluster url --dir $(CLUSTER_DIR))"

clean:
	rm -rf data results build dist *.egg-info .pytest_cache report
