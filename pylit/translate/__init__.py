"""
# Translations

The translated sites are built from per-language caches: one JSON file per module and
language that maps each English chunk of notes (its *key*, see `keys`) to its translation.

* `keys` derives the keys from a parsed module (the format is fixed by the cache spec)
* `cache` reads, checks and rewrites the cache files, keeping dropped translations in a sidecar
* `apply` turns a section's translation into safe HTML with the current math and code
* `status`, `po` and `cli` are the tools for translators
"""

from .keys import KEYS_VERSION, Chunk, Fragment, module_keys, section_chunks, title_key

__all__ = ['KEYS_VERSION', 'Chunk', 'Fragment', 'module_keys', 'section_chunks', 'title_key']
