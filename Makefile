# The README's two commands: `make demo` and `make test`. Each does its own set-up on a fresh Debian
# machine (system packages when root, .venv, the project with its dev extra) and is fast when set up.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := libopus0 opus-tools mosquitto ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
	gstreamer1.0-plugins-bad iproute2 prometheus libportaudio2 icecast2 vlc-bin vlc-plugin-base
STAMP := $(VENV)/.installed
PROTO_SRC := $(wildcard protos/loa/v1/*.proto)

.PHONY: demo test lint bench protos check-protos setup system clean

demo: setup
	$(BIN)/python -m engine.demo

# Three test files at a time (--dist loadfile keeps a file's module-scoped server in one worker): most of
# the suite is speakers playing in real time, so on 2 cores this took 4 min 35 s against 12 min 12 s
# one at a time.
test: setup
	$(BIN)/pytest -q -n 3 --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench.run_all

setup: system $(STAMP)

# Installs only what is missing, and only when root (a developer without root installs them by hand).
system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing system packages: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else echo "missing system packages (install as root): $$missing"; fi; \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Regenerates the committed gRPC stubs; tests/test_protos.py fails when they are stale.
protos: setup
	$(BIN)/python -m protos.generate

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
