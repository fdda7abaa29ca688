# tradewire: two commands set up a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test lint eval e2e bench clean config-docs train

install: $(STAMP)

# Re-installs only when the project's dependencies change; quick otherwise.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e ".[dev,datasette,vec,train]"
	touch $(STAMP)

demo: install
	$(BIN)/python run.py demo

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check pipeline tests run.py bench
	$(BIN)/ruff format --check pipeline tests run.py bench

eval: install
	$(BIN)/python run.py eval ../shared/dev/articles.jsonl

# The user's path, as the project is measured: each labelled set served as a news site, run.py once, scored.
e2e: install
	for s in seed dev; do $(BIN)/python ../shared/tools/e2e.py ../shared/$$s/articles.jsonl --project . --python $(BIN)/python || exit 1; done

# Rebuild the trained models from ../shared (seeded: a rerun writes the same files). The team's own
# labels join with TEAM_GOLD (files written by run.py export-gold): make train TEAM_GOLD=data/gold.jsonl
TEAM_GOLD ?=
train: install
	$(BIN)/python run.py train --data ../shared/train/articles.jsonl $(foreach f,$(TEAM_GOLD),--data $(f))

bench: install
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) data .pytest_cache

# Regenerate the README's configuration table from pipeline/config.py.
config-docs: install
	$(BIN)/python -c "import re,subprocess,sys; t=subprocess.run([sys.executable,'run.py','config','--markdown'],capture_output=True,text=True,check=True).stdout.strip(); s=open('README.md').read(); s=re.sub(r'(<!-- config-table[^>]*-->\n).*?(\n<!-- /config-table -->)', lambda m: m.group(1)+t+m.group(2), s, flags=re.S); open('README.md','w').write(s)"
