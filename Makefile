# Two commands a user needs (README): `make app` and `make test`.
# Both create .venv with Python 3.11 and install requirements first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: app test test-fast bench venv

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

app: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/streamlit run app.py --server.fileWatcherType none

# Whole suite: fast tests on fakes, then the real-model and browser tests.
test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || echo "note: chromium not installed; the browser test will be skipped (apt-get install -y chromium)"
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider

test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m "not real_model and not browser"

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) bench/generate.py
