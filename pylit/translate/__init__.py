"""
# Translations

The translated sites are built from per-language caches: one JSON file per module and
language that maps each English chunk of notes (its *key*, see `keys`) to its translation.

* `keys` derives the keys from a parsed module (the format is fixed by the cache spec)
* `cache` reads, checks and rewrites the cache files, keeping dropped translations in a sidecar
* `apply` checks a translation on parsed HTML and turns it into safe HTML with the current
  math and code
* `status`, `po`, `glossary` and `cli` are the tools for translators; `status_page` writes a
  translation-status page per language into the built site
* the languages themselves are data: `pylit/languages.py` and `pylit/messages/<lang>.json`
"""

from .keys import KEYS_VERSION, Chunk, Fragment, module_keys, section_chunks, title_key

__all__ = ['KEYS_VERSION', 'Chunk', 'Fragment', 'module_keys', 'section_chunks', 'title_key']
