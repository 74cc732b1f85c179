# Two commands matter: `make scenario NAME=...` and `make test`. Both set themselves up.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NAME   ?= builtin_town
SERVER_ARGS := $(if $(CARLA_HOST),--host $(CARLA_HOST)) $(if $(CARLA_PORT),--port $(CARLA_PORT))

.PHONY: setup scenario sweep test check schemas clean bench

$(STAMP): setup.cfg pyproject.toml tools/bootstrap.sh tools/warm_kernels.py
	./tools/bootstrap.sh
	touch $@

setup: $(STAMP)

scenario: $(STAMP)
	$(BIN)/scenario run scenarios/$(NAME).yaml $(SERVER_ARGS)

sweep: $(STAMP)
	$(BIN)/scenario sweep scenarios/sweeps/$(NAME).yaml.j2 $(if $(WORKERS),--workers $(WORKERS))

test: $(STAMP)
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/ruff check runner tests bench
	$(BIN)/ruff format --check runner tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

schemas: $(STAMP)
	$(BIN)/scenario schema > schemas/scenario.schema.json

bench: $(STAMP)
	$(BIN)/python bench/server_ticks.py

clean:
	rm -rf outputs/*/ .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
