# The two commands a newcomer needs:
#   make serve   set up, build the site (every language) and serve it at http://127.0.0.1:8000
#   make test    set up and run the whole test suite (installs Debian's chromium for the browser tests)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYLIT := $(abspath $(VENV))/bin/pylit
HOST ?= 127.0.0.1
PORT ?= 8000
# The public address of the site and of the sources; override them when deploying:
#   make docs SITE_URL=https://example.org REPO_URL=https://github.com/you/repo/blob/main/labml_nn
SITE_URL ?= http://$(HOST):$(PORT)
REPO_URL ?=
# The translated languages: those of pylit/languages.py that have caches in translate_cache/
LANGS := $(shell $(PYTHON) pylit/languages.py translate_cache)
PYLIT_FLAGS = --remove_empty_sections --title_md --languages en,$(subst $(space),$(comma),$(LANGS)) \
	--site_url $(SITE_URL) $(if $(REPO_URL),--repo_url $(REPO_URL))
comma := ,
space := $(empty) $(empty)

.PHONY: setup docs docs-en $(addprefix docs-,$(LANGS)) docs-all translation-status search sitemap papers serve test test-fast browser bench clean

setup: $(VENV)/.setup-done node_modules/.setup-done

# torch first, pinned to the CPU build this machine carries, so that nothing pulls CUDA wheels
$(VENV)/.setup-done: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

node_modules/.setup-done: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

docs-en: setup
	cd labml_nn && $(PYLIT) $(PYLIT_FLAGS) -d ../docs *

$(addprefix docs-,$(LANGS)): docs-%: setup
	cd labml_nn && $(PYLIT) $(PYLIT_FLAGS) --translate $* --translate_cache ../translate_cache -d ../docs/$* *

# Every language in one run: each module parsed once, each formula typeset once;
# English into docs/, each other language into docs/<lang>/
docs-all: setup
	cd labml_nn && $(PYLIT) $(PYLIT_FLAGS) --translate_cache ../translate_cache -d ../docs *

# The search index (one per language, Pagefind's extended build), sitemap.xml and papers.json
search: docs-all
	$(PY) utils/search.py --site docs

sitemap: docs-all
	$(PY) utils/sitemap.py --site docs --site_url $(SITE_URL) --source labml_nn --translate_cache translate_cache

papers: docs-en
	$(PY) utils/papers.py --site docs

# One translation-status page per language: docs/<lang>/translation-status.html
translation-status: docs-all
	$(PY) -m pylit.translate.status_page --site docs --src labml_nn --translate_cache translate_cache --languages "$(LANGS)"

docs: docs-all search sitemap papers translation-status

# Live preview on 127.0.0.1: a saved source rebuilds its page and reloads the open tab
serve: docs
	$(PY) -m pylit.serve --no-build --port $(PORT) --source labml_nn --docs docs --translate_cache translate_cache -- $(PYLIT_FLAGS)

browser:
	bash scripts/install-browser.sh

test: setup browser
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not browser and not slow"

bench: setup
	$(PY) bench/build_site.py

clean:
	rm -rf docs build .pytest_cache
