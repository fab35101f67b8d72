# The README's two commands: `make run` (set up, build the demo, start the app) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The local CPU build; any other torch pulls gigabytes of CUDA packages (see pyproject.toml).
TORCH := torch==2.13.0
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# Models come inside packages: never wait for a model hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test demo lint notebooks chromium dovecot

run: $(VENV)/.installed
	$(BIN)/incident-kb demo
	$(BIN)/incident-kb serve

test: $(VENV)/.installed-dev chromium dovecot
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

demo: $(VENV)/.installed
	$(BIN)/incident-kb demo --recreate

# The analysts' notebooks in Jupyter, on the demo (built first if need be).
notebooks: $(VENV)/.installed-notebooks
	$(BIN)/incident-kb demo
	$(BIN)/jupyter lab $(if $(SUDO),,--allow-root) notebooks/  # root (a container) must say so

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-notebooks: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[notebooks]'
	touch $@ $(VENV)/.installed

# The browser tests drive Debian's Chromium (playwright cannot download its own browser here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

# The mail tests poll a real IMAP server: Debian's Dovecot, started by the tests on loopback with their own settings.
dovecot:
	@command -v dovecot >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y dovecot-imapd; }
