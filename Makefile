# segreview: `make help` lists the targets. Everything sets itself up from a fresh clone with
# only python3 (3.11) present: the first target that needs it creates .venv and installs the
# locked dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PARAMS ?= params/demo.yaml

.DEFAULT_GOAL := help
.PHONY: help venv report demo-data test test-fast lint lab bench lock clean clean-reports i18n-check i18n-extract

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "; printf "Targets:\n"} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## Create or update .venv from pyproject.toml + requirements.lock

data/demo/orders.parquet: | $(STAMP)
	$(BIN)/segreview demo-data --out data/demo

data/demo_zh/orders.parquet: | $(STAMP)
	$(BIN)/segreview demo-data --language zh-CN --out data/demo_zh

# the demo export the chosen parameters read (the Chinese one for params/demo_zh.yaml)
DEMO_DATA = $(if $(findstring demo_zh,$(PARAMS)),data/demo_zh/orders.parquet,$(if $(findstring demo_subscription,$(PARAMS)),data/demo/subscription/payments.parquet,data/demo/orders.parquet))

data/demo/subscription/payments.parquet: | $(STAMP)
	$(BIN)/python -m helpers.demo.subscriptions --out data/demo/subscription

demo-data: $(STAMP) ## Generate the seeded demo CRM export into data/demo/ (if missing)
	$(BIN)/segreview demo-data --out data/demo

report: $(STAMP) $(DEMO_DATA) ## Render the demo quarter's review (PARAMS=... for another) and print its path
	$(BIN)/segreview run --params $(PARAMS) --force
	@echo "Open: $$(pwd)/$$($(BIN)/python -c "from helpers.frame.settings import load_config; c = load_config('$(PARAMS)'); print(f'{c.reports_dir}/{c.quarter}')")/index.html"

test: $(STAMP) ## Lint (ruff) and run the whole test suite (unit, end-to-end)
	$(BIN)/ruff check src tests notebooks benchmarks
	$(BIN)/python -m pytest

test-fast: $(STAMP) ## Run the unit tests only (no papermill runs)
	$(BIN)/python -m pytest -m "not pipeline"

i18n-check: $(STAMP) ## List messages without a translation (I18N_LANG=zh-CN) and translations whose {fields} differ
	$(BIN)/python -m helpers.locale.check --lang $(or $(I18N_LANG),zh-CN)

i18n-extract: $(STAMP) ## Add untranslated messages to src/helpers/locale/<lang>/<package>.po (I18N_LANG=zh-CN)
	$(BIN)/python -m helpers.locale.check --lang $(or $(I18N_LANG),zh-CN) --extract

lint: $(STAMP) ## Lint the package, tests and notebooks with ruff
	$(BIN)/ruff check src tests notebooks benchmarks

lab: $(STAMP) data/demo/orders.parquet ## Open JupyterLab; notebooks/*.py open as notebooks (jupytext)
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}' > $(VENV)/share/jupyter/lab/settings/overrides.json
	$(BIN)/jupyter lab --notebook-dir=.

bench: $(STAMP) data/demo/orders.parquet ## Whole-review benchmark: demo, 20k, 200k, 1M customers (about 20 min; see benchmarks/RESULTS.md)
	$(BIN)/python benchmarks/bench_review.py --memory-budget 4000MiB $(if $(SIZES),--sizes $(SIZES),)

lock: ## Re-resolve dependencies and rewrite requirements.lock
	rm -rf /tmp/segreview-lock && $(PYTHON) -m venv /tmp/segreview-lock
	/tmp/segreview-lock/bin/python -m pip install --quiet --upgrade pip
	/tmp/segreview-lock/bin/python -m pip install --quiet -e '.[dev]'
	/tmp/segreview-lock/bin/python -m pip freeze --exclude-editable | grep -v '^segreview' > requirements.lock
	rm -rf /tmp/segreview-lock

clean-reports: ## Delete rendered reports (reports/*)
	find reports -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +

clean: clean-reports ## Delete .venv, generated data and reports
	rm -rf $(VENV) data/demo/*.parquet data/demo/truth.json data/demo_zh data/ci .pytest_cache .ruff_cache

.PHONY: readme-picture
readme-picture: $(STAMP) data/demo/orders.parquet ## Render the demo quarter and screenshot its review for the README (docs/review_1366x768.png)
	$(BIN)/segreview run --params params/demo.yaml --force
	$(BIN)/python -m helpers.review.picture reports/2026Q3/index.html docs/review_1366x768.png
