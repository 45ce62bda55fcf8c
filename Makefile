# techsquawks.iam: `make demo` runs the main job against an embedded moto server; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTIONS := .tmp/collections
LINK := $(COLLECTIONS)/ansible_collections/techsquawks/iam
PYTEST_WORKERS ?= 2
# The fault-injection tests (tests/aws_proxy.py in front of moto_server): their own target, part of `make test`.
FAULT_TESTS := tests/integration/test_faults.py
BENCH_VENV := .tmp/bench-venv
BENCH_STAMP := $(BENCH_VENV)/.installed
# The docs site's tools (docs/requirements.txt) in their own virtualenv, the site built into DOCS_DEST.
DOCS_VENV := .tmp/docs-venv
DOCS_STAMP := $(DOCS_VENV)/.installed
DOCS_DEST := .tmp/docs
DOCS_ENV := ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(COLLECTIONS) PATH=$(CURDIR)/$(DOCS_VENV)/bin:$$PATH
# make test-matrix: the unit tests and one integration playbook on the oldest ansible-core that meta/runtime.yml's
# requires_ansible admits and on the newest that runs on this Python (requirements-dev.txt's pin), each in a
# virtualenv of its own, $(MATRIX)/<version>/, with the test requirements of requirements-dev.txt (not the tools of
# lint, docs, changelog and ee, which need ansible-core versions of their own).
MATRIX := .tmp/matrix
MATRIX_OLDEST := $(shell sed -n 's/^requires_ansible: *">=\([0-9.]*\)".*/\1/p' meta/runtime.yml)
MATRIX_NEWEST := $(shell sed -n 's/^ansible-core==//p' requirements-dev.txt)
MATRIX_VERSIONS ?= $(MATRIX_OLDEST) $(MATRIX_NEWEST)
MATRIX_TOOLS := ansible-core|ansible-lint|ansible-builder|antsibull-[a-z-]+|ruff|mypy|botocore-stubs|types-[A-Za-z0-9-]+
# The roster's action plugin (ansible-vault, diff) through the onboarding role, then modules as ansible runs them.
MATRIX_INTEGRATION := tests/integration/test_supported_versions.py

.PHONY: all test lint unit integration test-matrix chromium age test-faults sanity ansible-lint changelog-lint changelog docs docs-lint build ee demo bench clean

all: test

# $(call constrained_venv,DIR,REQUIREMENTS): a virtualenv of its own in DIR with REQUIREMENTS installed, the pins it
# shares with requirements-dev.txt taken from there as constraints (which take no extras: stripped); one retry.
define constrained_venv
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	sed 's/\[[^]]*\]//' requirements-dev.txt > $(1)/constraints.txt
	$(1)/bin/python -m pip install --quiet -c $(1)/constraints.txt -r $(2) \
	  || $(1)/bin/python -m pip install --quiet -c $(1)/constraints.txt -r $(2)
	touch $(1)/.installed
endef

$(STAMP): requirements-dev.txt requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# One retry: a download cut short by the network should not fail the whole run.
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt || $(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(LINK):
	mkdir -p $(dir $(LINK))
	ln -sfn $(CURDIR) $(LINK)

test: lint unit integration test-matrix test-faults sanity ansible-lint changelog-lint docs-lint docs
	@echo "make test: all checks passed"

lint: $(STAMP) $(LINK)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# plugins/ as ansible imports it, ansible_collections.techsquawks.iam (pyproject.toml's [tool.mypy]).
	$(BIN)/mypy -p ansible_collections.techsquawks.iam.plugins

unit: $(STAMP) $(LINK) age
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) tests/unit

integration: $(STAMP) $(LINK) chromium
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) tests/integration $(addprefix --ignore=,$(FAULT_TESTS))

test-matrix: $(addprefix test-matrix-,$(MATRIX_VERSIONS))

# One version of the matrix, for example `make test-matrix-2.19.14`.
test-matrix-%: $(MATRIX)/%/.installed $(LINK) age
	$(MATRIX)/$*/bin/pytest -q -n $(PYTEST_WORKERS) tests/unit $(MATRIX_INTEGRATION)

# A matrix virtualenv: ansible-core at that version and the test requirements, built once (pip's cache serves the
# wheels the main virtualenv downloaded); one retry; it must really hold that version of ansible-core.
.PRECIOUS: $(MATRIX)/%/.installed
$(MATRIX)/%/.installed: requirements-dev.txt requirements.txt
	rm -rf $(MATRIX)/$*
	$(PYTHON) -m venv $(MATRIX)/$*
	$(MATRIX)/$*/bin/python -m pip install --quiet --upgrade pip
	grep -v -E '^($(MATRIX_TOOLS))([=<>~![ ]|$$)' requirements-dev.txt > $(MATRIX)/$*/requirements.txt
	$(MATRIX)/$*/bin/python -m pip install --quiet ansible-core==$* -r $(MATRIX)/$*/requirements.txt \
	  || $(MATRIX)/$*/bin/python -m pip install --quiet ansible-core==$* -r $(MATRIX)/$*/requirements.txt
	$(MATRIX)/$*/bin/python -c 'import sys, ansible.release as r; sys.exit(r.__version__ != "$*" and f"ansible-core {r.__version__}, not $*")'
	touch $@

# Headless Chromium renders the audit report's HTML page in tests/integration/test_audit.py (Debian's package, as root).
chromium:
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium)

# The age CLI decrypts a delivered file as its person would in tests/unit/plugins/module_utils/test_age.py (Debian's package, as root).
age:
	command -v age >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends age)

# -rP prints what the passing tests recorded (throttled answers and retries, read counts).
test-faults: $(STAMP) $(LINK)
	$(BIN)/pytest -q -rP -n $(PYTEST_WORKERS) $(FAULT_TESTS)

sanity: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH ./.ci/sanity

ansible-lint: $(STAMP) $(LINK)
	# NODEPS: lint the working tree as it is, without installing the collection into ~/.ansible.
	ANSIBLE_LINT_NODEPS=1 ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(COLLECTIONS) $(BIN)/ansible-lint --profile production roles/ playbooks/

# The fragments (changelogs/fragments/, also the ones added after the last release) and changelogs/changelog.yaml are
# valid, and CHANGELOG.md is what antsibull-changelog generates from changelog.yaml.
changelog-lint: $(STAMP)
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-changelog lint-changelog-yaml --strict changelogs/changelog.yaml
	mkdir -p .tmp
	$(BIN)/antsibull-changelog generate --output .tmp/CHANGELOG.md --output-format md
	cmp -s .tmp/CHANGELOG.md CHANGELOG.md || (echo "CHANGELOG.md is not generated from changelogs/changelog.yaml: run antsibull-changelog generate" >&2; exit 1)

# Fold the fragments into the release of galaxy.yml's version (changelog.yaml, CHANGELOG.md) and remove them: until
# that version is published, run again after adding fragments and they join it.
changelog: $(STAMP) $(LINK)
	PATH=$(CURDIR)/$(BIN):$$PATH ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(COLLECTIONS) $(BIN)/antsibull-changelog release

# The docs tools' virtualenv (ansible-core as requirements-dev.txt pins it).
$(DOCS_STAMP): docs/requirements.txt requirements-dev.txt
	$(call constrained_venv,$(DOCS_VENV),docs/requirements.txt)

# Every module's, plugin's and the role's documentation (schema, markup, references, rstcheck of the generated RST)
# and the user guide's references.
docs-lint: $(DOCS_STAMP) $(LINK)
	$(DOCS_ENV) $(DOCS_VENV)/bin/antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs \
	  --validate-collection-refs all .

# The HTML docs site (collection docs and the user guide in docs/docsite/) into $(DOCS_DEST)/build/html. The build
# is offline: the Ansible docsite's labels the pages link to come from docs/ansible-docsite-labels.txt instead of
# intersphinx downloads (the generated conf.py's mapping is replaced).
docs: $(DOCS_STAMP) $(LINK)
	rm -rf $(DOCS_DEST)
	mkdir -p $(DOCS_DEST)
	$(DOCS_ENV) $(DOCS_VENV)/bin/antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir $(DOCS_DEST) \
	  --project techsquawks.iam --copyright 'techsquawks.iam contributors' --title 'techsquawks.iam' \
	  --index-rst-source docs/index.rst techsquawks.iam
	$(DOCS_VENV)/bin/python docs/intersphinx_inventory.py docs/ansible-docsite-labels.txt $(DOCS_DEST)/ansible_devel.inv
	echo "intersphinx_mapping = {'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', '../ansible_devel.inv')}" \
	  >> $(DOCS_DEST)/conf.py
	cd $(DOCS_DEST) && $(DOCS_ENV) ./build.sh
	@echo "make docs: $(DOCS_DEST)/build/html/index.html ($$(find $(DOCS_DEST)/build/html -name '*.html' | wc -l) pages)"

build: $(STAMP)
	$(BIN)/ansible-galaxy collection build --force --output-path .tmp/dist .

# The execution environment's build context (ee/execution-environment.yml, with the tarball above) in .tmp/ee, no
# container engine needed; `podman build .tmp/ee` makes the image. tests/integration/test_awx.py checks it.
ee: build
	$(BIN)/ansible-builder create -f ee/execution-environment.yml --context .tmp/ee --output-filename Containerfile

demo: $(STAMP) $(LINK)
	PATH=$(CURDIR)/$(BIN):$$PATH ./demo.sh

# The benchmark's own virtualenv (the ansible package, for amazon.aws), built once and reused.
$(BENCH_STAMP): benchmarks/requirements.txt requirements-dev.txt
	$(call constrained_venv,$(BENCH_VENV),benchmarks/requirements.txt)

# BENCH_USERS (default 20), BENCH_RUNS (default 3) and BENCH_FORKS (default 20) come from the environment.
bench: $(BENCH_STAMP) $(LINK)
	$(BENCH_VENV)/bin/python benchmarks/bench.py

clean:
	rm -rf $(VENV) .tmp tests/output .pytest_cache .ruff_cache
