# Two commands matter: `make demo` and `make test`. Each sets up what is
# missing (Debian packages, .venv from requirements.lock, NLU models) and
# skips what is already there.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := espeak-ng libespeak-ng1 libportaudio2 sox chromium sphinxtrain sphinxbase-utils pocketsphinx
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: demo demo-household demo-simulation test setup system-deps models lint typecheck pytest bench clean eval-coffee eval-coffee-adapted

demo: setup models
	@echo "== English =="
	printf "open baking class\nhow can I make a sponge cake\nhelp\nstop\nI'd like to use car viewing\n" | $(BIN)/voice shell --lang en
	@echo "== 中文 =="
	printf '打开烘焙课堂\n我想做牛角包\n退出\n帮我打开金锅厨房\n麻婆豆腐怎么炒\n' | $(BIN)/voice shell --lang zh
	@echo "== A conversation with a brand service (the demo services run on loopback) =="
	printf 'open car viewing\nshow me the aurora\npaint it red\nbook a test drive\nSaturday\nat ten\nno, Sunday\nyes\n' | $(BIN)/voice shell --lang en --demo-services
	@echo "== 多轮对话 =="
	printf '打开烘焙课堂\n我想烤点东西\n饼干\n下一步\n下一步\n上一步\n那面包呢\n打开大屏观车\n回到烘焙课堂\n退出\n' | $(BIN)/voice shell --lang zh
	@$(MAKE) --no-print-directory demo-household
	@$(MAKE) --no-print-directory demo-simulation

# A household on loopback: a server, alice's kitchen speaker (speech from WAV files)
# and her living-room TV (typed requests), each a real network client.
DEMO_DIR := models/demo-household
demo-household: setup models
	@echo "== A household on loopback: a kitchen speaker and a living-room TV of one person =="
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@set -e; db="sqlite:///$(CURDIR)/$(DEMO_DIR)/devices.db"; \
	token() { sed -n 's/^token: \([^ ]*\).*/\1/p'; }; \
	echo '$$ voice devices add --user alice --type speaker --name "Kitchen speaker" --room kitchen'; \
	added=$$($(BIN)/voice devices add --database "$$db" --user alice --type speaker \
	  --name "Kitchen speaker" --room kitchen --id alice-speaker); \
	echo "$$added"; speaker=$$(echo "$$added" | token); \
	echo '$$ voice devices add --user alice --type tv --name "Living room TV" --room living_room'; \
	added=$$($(BIN)/voice devices add --database "$$db" --user alice --type tv \
	  --name "Living room TV" --room living_room --id alice-tv); \
	echo "$$added"; tv=$$(echo "$$added" | token); \
	espeak-ng -v en-us -w $(DEMO_DIR)/open.wav "open baking class"; \
	espeak-ng -v en-us -w $(DEMO_DIR)/continue.wav "continue on the TV"; \
	echo '$$ voice serve --port 0 &'; \
	$(BIN)/voice serve --port 0 --database "$$db" > $(DEMO_DIR)/server.log 2>&1 & server=$$!; \
	trap 'kill $$server 2>/dev/null; wait $$server 2>/dev/null || true' EXIT; \
	for i in $$(seq 240); do grep -q '^serving on' $(DEMO_DIR)/server.log && break; \
	  kill -0 $$server 2>/dev/null || { cat $(DEMO_DIR)/server.log; exit 1; }; sleep 0.5; done; \
	url=$$(sed -n 's/^serving on \(http[^ ]*\).*/\1/p' $(DEMO_DIR)/server.log); \
	grep '^serving on' $(DEMO_DIR)/server.log; \
	echo '$$ voice device --token TV --wait 15 &             # the TV waits, showing what it is handed'; \
	$(BIN)/voice device --server "$$url" --token "$$tv" --wait 15 > $(DEMO_DIR)/tv.log 2>/dev/null & watcher=$$!; \
	sleep 2; \
	echo '$$ voice device --token SPEAKER --push-to-talk --from-wav open.wav continue.wav'; \
	$(BIN)/voice device --server "$$url" --token "$$speaker" --push-to-talk \
	  --from-wav $(DEMO_DIR)/open.wav $(DEMO_DIR)/continue.wav 2>/dev/null; \
	sleep 1; kill $$watcher 2>/dev/null || true; wait $$watcher 2>/dev/null || true; \
	echo '-- on the TV:'; cat $(DEMO_DIR)/tv.log; \
	echo '$$ voice device --token TV --text "how do I bake bread"'; \
	$(BIN)/voice device --server "$$url" --token "$$tv" --text "how do I bake bread" 2>/dev/null

test: setup models lint typecheck pytest

setup: system-deps $(STAMP)

system-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null \
	      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null; }; \
	  else \
	    echo "missing Debian packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing   (then run make again)"; \
	    exit 1; \
	  fi; \
	fi

# Rasa 3.6.21 declares Python <3.11 but runs on 3.11: install the locked set
# without the resolver (--no-deps), as ../shared/DESIGN.md describes.
$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --ignore-requires-python -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

models: $(STAMP)
	$(BIN)/voice train

lint: $(STAMP)
	$(BIN)/ruff check voice_runtime tests
	$(BIN)/ruff format --check voice_runtime tests

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

bench: setup models
	$(BIN)/voice bench nlu
	$(BIN)/voice bench startup

clean:
	rm -rf $(VENV) models/nlu .mypy_cache .ruff_cache .pytest_cache

# Scene marketing, simulated: 30 households for 3 days through the real router and campaign
# engine, then Anchor Dairy's report (HTML and PNG plots) from the events it wrote.
SIM_DIR := models/demo-simulation
demo-simulation: setup models
	@echo "== Scene marketing: 30 simulated households for three days, and a brand report =="
	@rm -rf $(SIM_DIR) && mkdir -p $(SIM_DIR)
	$(BIN)/voice simulate --households 30 --days 3 --seed 1 --database sqlite:///$(CURDIR)/$(SIM_DIR)/simulation.db --report-brand anchor_dairy --out $(SIM_DIR)/report

# Real recorded coffee orders (the dev set in ../shared, not part of make test): the
# coffee project in tests/coffee/, clean and in kitchen noise, with a table and a PNG.
COFFEE_DATA ?= ../shared/data/coffee-dev
COFFEE_REPORT ?= models/eval-coffee
SNR_REFERENCE ?= active
eval-coffee: setup
	@test -d "$(COFFEE_DATA)/clean" -a -f "$(COFFEE_DATA)/kitchen_noise.flac" || { \
	  echo "eval-coffee: the coffee dev set is expected at $(COFFEE_DATA) (clean/*.flac and"; \
	  echo "kitchen_noise.flac, as in ../shared/data/coffee-dev); set COFFEE_DATA=DIR"; exit 1; }
	$(BIN)/voice --project tests/coffee train
	$(BIN)/voice --project tests/coffee eval speech --audio $(COFFEE_DATA)/clean \
	  --labels tests/coffee/labels.json --noise $(COFFEE_DATA)/kitchen_noise.flac \
	  --snr clean 24 18 12 6 --snr-reference $(SNR_REFERENCE) --report $(COFFEE_REPORT)

# The acoustic model adapted to the coffee speakers (voice adapt), measured honestly:
# in two folds, each scored by a model adapted on the other half of the recordings.
ADAPT_REPORT ?= models/eval-coffee-adapted
eval-coffee-adapted: setup
	@test -d "$(COFFEE_DATA)/clean" -a -f "$(COFFEE_DATA)/kitchen_noise.flac" || { \
	  echo "eval-coffee-adapted: the coffee dev set is expected at $(COFFEE_DATA); set COFFEE_DATA=DIR"; exit 1; }
	$(BIN)/voice --project tests/coffee train
	$(BIN)/voice --project tests/coffee eval speech --audio $(COFFEE_DATA)/clean \
	  --labels tests/coffee/labels.json --noise $(COFFEE_DATA)/kitchen_noise.flac \
	  --snr clean 24 18 12 6 --snr-reference $(SNR_REFERENCE) --cross-adapt 2 \
	  --report $(ADAPT_REPORT)
