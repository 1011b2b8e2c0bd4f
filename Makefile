# Shipyard — every target works from a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO   ?= /tmp/shipyard-demo
DEMO_PORT ?= 8000
SHIPYARD := $(CURDIR)/$(VENV)/bin/shipyard

.PHONY: install lock demo serve-demo test unit e2e bench trials lint docs clean

# Installs the versions in constraints.txt, the ones the suite was run with.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Re-pin constraints.txt: what pyproject.toml resolves to today, in a throwaway venv (so nothing a
# developer added by hand gets in). Run `make lint test` on the result before committing it.
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip && \
	"$$tmp/venv/bin/python" -m pip install --quiet -e '.[dev]' && \
	{ echo "# Versions tested together; 'make install' and CI install with -c constraints.txt."; \
	  echo "# Regenerate with 'make lock' (a fresh venv from pyproject.toml, frozen), then run 'make lint test'."; \
	  "$$tmp/venv/bin/python" -m pip freeze --exclude-editable; } > "$$tmp/constraints.txt" && \
	mv "$$tmp/constraints.txt" constraints.txt
	@echo "constraints.txt: $$(grep -vc '^#' constraints.txt) pinned packages"

# The recommender example end to end on the embedded stores, left serving on localhost.
demo: $(STAMP)
	rm -rf $(DEMO)
	$(SHIPYARD) example recommender $(DEMO)
	cd $(DEMO) && $(SHIPYARD) ingest
	cd $(DEMO) && $(CURDIR)/$(PY) erp.py next-month && $(SHIPYARD) ingest
	cd $(DEMO) && $(SHIPYARD) lake history order_lines --layer raw
	cd $(DEMO) && $(SHIPYARD) run train
	cd $(DEMO) && $(SHIPYARD) models promote recommender 1 --reason "make demo"
	cd $(DEMO) && $(SHIPYARD) recommend --top 10
# A bulk-promotion month: validation rejects it (exit 3, quarantine); accepted as real orders, it
# moves what the recommender learns from, and monitor drift prints where its JSON and HTML are.
	cd $(DEMO) && $(CURDIR)/$(PY) erp.py next-month --drift
	cd $(DEMO) && $(SHIPYARD) ingest; test $$? -eq 3
	cd $(DEMO) && $(SHIPYARD) quarantine accept latest --reason "make demo: a bulk-promotion month"
	cd $(DEMO) && $(SHIPYARD) monitor drift recommender
	@$(MAKE) --no-print-directory serve-demo

# (Re)start the API for the demo project in the background; its key is in $(DEMO)/.api-key.
serve-demo: $(STAMP)
	@if [ -f $(DEMO)/.serve.pid ]; then kill $$(cat $(DEMO)/.serve.pid) 2>/dev/null || true; fi
	@[ -f $(DEMO)/.api-key ] || $(PY) -c "import secrets; print(secrets.token_urlsafe(24))" > $(DEMO)/.api-key
	@cd $(DEMO) && SHIPYARD_API_KEYS=$$(cat .api-key) nohup $(SHIPYARD) serve --port $(DEMO_PORT) > serve.log 2>&1 & echo $$! > $(DEMO)/.serve.pid
	@for i in $$(seq 1 120); do kill -0 $$(cat $(DEMO)/.serve.pid) 2>/dev/null || break; curl -sf -H "Authorization: Bearer $$(cat $(DEMO)/.api-key)" http://127.0.0.1:$(DEMO_PORT)/ready > /dev/null && break; sleep 0.5; done
	@curl -sf -H "Authorization: Bearer $$(cat $(DEMO)/.api-key)" http://127.0.0.1:$(DEMO_PORT)/ready > /dev/null || (cat $(DEMO)/serve.log; exit 1)
	@echo "API serving at http://127.0.0.1:$(DEMO_PORT) (docs: /docs; log: $(DEMO)/serve.log; stop: kill $$(cat $(DEMO)/.serve.pid))"
	@echo "Web UI at http://127.0.0.1:$(DEMO_PORT)/ui/ (sign in with the key in $(DEMO)/.api-key)"
	@echo 'Try: export KEY=$$(cat $(DEMO)/.api-key)'
	@echo "     curl -H \"Authorization: Bearer \$$KEY\" http://127.0.0.1:$(DEMO_PORT)/v1/recommendations/$$(cd $(DEMO) && $(CURDIR)/$(PY) -c "import sqlite3; print(sqlite3.connect('.shipyard/dev/results.db').execute('select customer_id from shipyard_recommendations limit 1').fetchone()[0])")"

# $(call debs,COMMAND:PACKAGE ...) installs from Debian, in one apt transaction, the packages whose
# command is missing (as root, or through sudo).
APT := $(if $(filter 0,$(shell id -u)),,sudo) apt-get -q -o DPkg::Lock::Timeout=600
debs = @need=""; for pair in $(1); do PATH="$$PATH:/usr/sbin" command -v $$(echo $$pair | cut -d: -f1) > /dev/null \
	|| need="$$need $$(echo $$pair | cut -d: -f2)"; done; \
	[ -z "$$need" ] || { echo "installing from Debian:$$need"; $(APT) update && $(APT) install -y $$need; }

# The web UI's browser tests (tests/e2e/test_ui_browser.py) drive Debian's Chromium through
# Playwright (no browser download).
.PHONY: browser
browser:
	$(call debs,chromium:chromium)

# The deployment rehearsal (shipyard deploy rehearse; tests/e2e/team/test_rehearse.py) puts
# Debian's HAProxy in front of the replicas as the Service.
.PHONY: haproxy
haproxy:
	$(call debs,haproxy:haproxy)

# What the suite needs besides Shipyard's venv, prepared side by side: one after another, a fresh
# clone spent ~15 of its ~20 minutes of preparation waiting on pip, apt and npm in turn.
.PHONY: test-deps test-system
test-deps:
	@$(MAKE) --no-print-directory -j3 --output-sync=target $(STAMP) scanners kserve test-system

test-system:
	$(call debs,chromium:chromium haproxy:haproxy npm:npm)
	@$(MAKE) --no-print-directory team-deps

test: test-deps
	$(PY) -m pytest -n 2 --dist loadfile -q

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

# Schemathesis with every check on both example servers, 200 cases per operation (make test sends
# 25: the same checks, a smaller sample).
.PHONY: fuzz
fuzz: $(STAMP)
	SHIPYARD_FUZZ_EXAMPLES=200 $(PY) -m pytest -q tests/e2e/test_serving.py -k schemathesis

e2e: test-deps
	$(PY) -m pytest -q tests/e2e

bench: $(STAMP) team-deps haproxy
	$(call debs,wrk:wrk)
	$(PY) benchmarks/cli.py
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/pipeline.py
	$(PY) benchmarks/serving.py
	$(PY) benchmarks/mlserver.py
	$(PY) benchmarks/recsys.py
	$(PY) benchmarks/topk.py
	$(PY) benchmarks/recs_serving.py
	$(PY) benchmarks/monitoring.py
	$(PY) benchmarks/drift_power.py
	$(PY) benchmarks/ui.py
	$(PY) benchmarks/team.py
	$(PY) benchmarks/rehearsal.py

# The team stack (teamstack/team.py): every store a server on 127.0.0.1, as the team-scale
# tests (tests/e2e/team) run against. Its Python servers (moto, mlflow, dask) come with the dev
# extras; `team-deps` adds Azurite, Microsoft's Azure Storage emulator, from npm into .stack/ at
# the versions teamstack/package-lock.json pins (node and npm from Debian when missing; Azurite
# 3.35 is the newest whose engines field admits the node 18/20 of Debian and NodeSource).
#   make team-up [TEAM=DIR]    starts it, writes DIR/team.env (set -a; . DIR/team.env; set +a)
#   make team-down [TEAM=DIR]  stops it, drops its databases
TEAM ?= /tmp/shipyard-team
AZURITE := .stack/node_modules/.bin/azurite-blob
.PHONY: team-deps team-up team-down demo-team

team-deps: $(AZURITE)

$(AZURITE): teamstack/package.json teamstack/package-lock.json
	$(call debs,npm:npm)
	mkdir -p .stack && cp teamstack/package.json teamstack/package-lock.json .stack/
	npm ci --prefix .stack --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

team-up: $(STAMP) team-deps
	$(PY) teamstack/team.py up $(TEAM)

team-down: $(STAMP)
	$(PY) teamstack/team.py down $(TEAM)

# The recommender example's `team` environment on a fresh team stack: each role in a folder of
# its own holding only shipyard.yaml and pipeline.py, as a pod would (README: "Team stack, in
# one session"), then the deployment rehearsed from the rendered manifests (`deploy rehearse`:
# a rolling update and a kill -9 under load, figures in DEMO_TEAM/rehearsal.json). The stack
# stays up for exploring; `make team-down` stops it.
DEMO_TEAM ?= /tmp/shipyard-team-demo
TEAMENV := set -a && . $(TEAM)/team.env && set +a
demo-team: $(STAMP) team-deps haproxy
	$(PY) teamstack/team.py down $(TEAM)
	$(PY) teamstack/team.py up $(TEAM)
	rm -rf $(DEMO_TEAM) && $(SHIPYARD) example recommender $(DEMO_TEAM)/shop
	$(TEAMENV) && $(PY) $(DEMO_TEAM)/shop/erp.py init --url $$ERP_URL --months 6
	for pod in ingest accept train train-again promote recommend; do mkdir -p $(DEMO_TEAM)/$$pod && cp $(DEMO_TEAM)/shop/shipyard.yaml $(DEMO_TEAM)/shop/pipeline.py $(DEMO_TEAM)/$$pod; done
	$(TEAMENV) && cd $(DEMO_TEAM)/ingest && $(SHIPYARD) ingest --env team
	$(TEAMENV) && $(PY) $(DEMO_TEAM)/shop/erp.py next-month --drift --url $$ERP_URL
	$(TEAMENV) && cd $(DEMO_TEAM)/ingest && $(SHIPYARD) ingest --env team; test $$? -eq 3
	$(TEAMENV) && cd $(DEMO_TEAM)/accept && $(SHIPYARD) quarantine accept latest --reason "make demo-team" --env team
	$(TEAMENV) && cd $(DEMO_TEAM)/train && $(SHIPYARD) run baseline --env team
	$(TEAMENV) && cd $(DEMO_TEAM)/train-again && $(SHIPYARD) run baseline --env team
	$(TEAMENV) && cd $(DEMO_TEAM)/promote && $(SHIPYARD) models promote recommender 1 --reason "make demo-team" --env team
	$(TEAMENV) && cd $(DEMO_TEAM)/recommend && $(SHIPYARD) recommend --top 10 --env team
	@echo "files written in the role folders: $$(find $(DEMO_TEAM) -mindepth 2 -type f ! -path '$(DEMO_TEAM)/shop/*' ! -name shipyard.yaml ! -name pipeline.py | wc -l)"
	cd $(DEMO_TEAM)/shop && $(SHIPYARD) deploy build --env team
	cp $(TEAM)/team.env $(DEMO_TEAM)/secrets.env && echo "SHIPYARD_API_KEYS=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(24))')" >> $(DEMO_TEAM)/secrets.env
	cd $(DEMO_TEAM)/shop && $(SHIPYARD) deploy rehearse --env team --secrets $(DEMO_TEAM)/secrets.env -o rollout -o kill --figures $(DEMO_TEAM)/rehearsal.json
	@echo "The stack is up: set -a; . $(TEAM)/team.env; set +a   (MLflow UI: \$$MLFLOW_TRACKING_URI); stop it: make team-down"

# kill -9 trials of ingest, training (registration included) and recommend; figures in
# benchmarks/results/kill_*.json. Bounded, about 15 minutes on 2 cores; not part of the suite.
trials: $(STAMP)
	$(PY) benchmarks/kill_ingest.py --trials 12
	$(PY) benchmarks/kill_train.py --trials 12
	$(PY) benchmarks/kill_recommend.py --trials 12

# The container image. `make image` builds a project's generated deploy/Dockerfile (run
# 'shipyard deploy build' in it first) with Docker, Podman or Buildah, whichever works here:
#   make image IMAGE_PROJECT=/tmp/shipyard-demo IMAGE=shop:1 IMAGE_BUILD_ARGS="--build-arg BASE=..."
# `make image-test` builds the Titanic example's images (the full one and the serve-only one,
# --build-arg REQUIREMENTS=requirements-serve.lock) on a Debian base made with debootstrap and
# runs each with Buildah (no daemon needed): the API smoke test, three timed cold starts. It
# took 29 minutes on a fresh machine under load average 12 on 2 cores (the base debootstrapped
# in 5 of them; cached in ~/.cache/shipyard-image). .ci/run runs it.
IMAGE_PROJECT ?= .
IMAGE ?= shipyard-project:dev
IMAGE_BUILD_ARGS ?=
BUILDAH ?= buildah --storage-driver vfs
.PHONY: image image-deps image-test

image-deps:
	$(call debs,buildah:buildah debootstrap:debootstrap)

image:
	@test -f $(IMAGE_PROJECT)/deploy/Dockerfile || { echo "no $(IMAGE_PROJECT)/deploy/Dockerfile: run 'shipyard deploy build' in the project, then make image IMAGE_PROJECT=DIR"; exit 2; }
	@if docker info > /dev/null 2>&1; then builder="docker build"; \
	elif podman info > /dev/null 2>&1; then builder="podman build --format docker"; \
	else $(MAKE) --no-print-directory image-deps > /dev/null && builder="$(BUILDAH) bud --isolation chroot --format docker"; fi; \
	cd $(IMAGE_PROJECT) && echo "$$builder -f deploy/Dockerfile -t $(IMAGE) $(IMAGE_BUILD_ARGS) ." && \
	start=$$(date +%s) && $$builder -f deploy/Dockerfile -t $(IMAGE) $(IMAGE_BUILD_ARGS) . && \
	echo "built $(IMAGE) in $$(( $$(date +%s) - start )) s"

image-test: $(STAMP) image-deps
	SHIPYARD_IMAGE_TEST=1 $(PY) -m pytest -q -s tests/e2e/test_image.py

# checkov and zizmor, which tests/e2e/test_deploy_scanners.py runs offline on what `deploy build`
# writes: in a venv of their own (their dependencies are not Shipyard's), at the versions
# tests/scanners.txt pins; reinstalled only when that file changes.
SCAN_VENV := .venv-scan
.PHONY: scanners
scanners: $(SCAN_VENV)/.installed

$(SCAN_VENV)/.installed: tests/scanners.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet -r tests/scanners.txt
	touch $@

# KServe's SDK, whose REST client tests/e2e/test_protocols.py speaks the V2 protocol with: in a venv
# of its own (its pins, pandas<3 and protobuf 6 among them, conflict with constraints.txt), at the
# versions tests/kserve.txt pins; reinstalled only when that file changes.
KSERVE_VENV := .venv-kserve
.PHONY: kserve
kserve: $(KSERVE_VENV)/.installed

$(KSERVE_VENV)/.installed: tests/kserve.txt
	$(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/python -m pip install --quiet -r tests/kserve.txt
	touch $@

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks teamstack
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# The documentation site from docs/ and mkdocs.yml into site/; --strict makes every warning
# (a broken link or anchor, a page left out of the nav) fail the build. Nothing is fetched.
# NO_MKDOCS_2_WARNING: Material prints a notice of its end of life otherwise (May 2027).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) $(SCAN_VENV) $(KSERVE_VENV) build site *.egg-info .pytest_cache .stack
