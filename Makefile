# Two commands for a fresh machine: `make demo` and `make test`. Both run `make setup` first, which is
# idempotent: it installs only what is missing and is a no-op (about a second) once everything is there.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := chromium chromium-driver fonts-noto-cjk libgl1 libglib2.0-0
STAMP := .setup-stamp

.PHONY: setup demo test bench clean system-packages fixtures train ocr-networks

setup: system-packages $(STAMP) ocr-networks

# System packages are checked on every run (cheap) because a machine can lose them between sessions.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Python and Node parts are re-installed only when their manifests change.
$(STAMP): pyproject.toml package.json
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip >/dev/null
	$(PY) -m pip install -q -e '.[test,train,fast-ocr]'
	npm install --no-audit --no-fund --loglevel=error
	@touch $(STAMP)

# The OCR networks rewritten into fused ops (vision/ocr_graph.py), once per user cache; a no-op after.
ocr-networks: $(STAMP)
	@$(PY) -c 'from vision import ocr_graph; ocr_graph.main()' >/dev/null

demo: setup
	$(VENV)/bin/splashaudit demo --out out/demo

test: setup
	$(PY) -m pytest -q --durations=12

bench: setup
	$(PY) bench/analyze_speed.py
	$(PY) bench/timeline_speed.py

# Fits vision/models/ on the labelled screens (rendered and real); prints the held-out real scores.
train: setup
	$(PY) fixtures/train_models.py

fixtures: setup
	$(PY) fixtures/generate_screens.py
	$(PY) fixtures/generate_heldout.py

clean:
	rm -rf $(VENV) node_modules $(STAMP) out
