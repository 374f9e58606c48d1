"""
---
title: Glossaries
summary: >
  One machine-readable glossary per language (term, translation, notes) that `translate status`
  checks, and from which the readable Markdown glossary is generated.
---

# Glossaries

`translate_cache/glossary.<lang>.yaml` holds the terms a language's pages agree on:

```yaml
language: zh
title: 简体中文术语表 (Simplified Chinese glossary)
intro: >
  Who the glossary is for, the style rules.
terms:
- term: weight decay            # the English term (matched as a whole word, any case, plural -s too)
  translation: 权重衰减           # the agreed translation
  also: [L2 正则化]              # other spellings that are also right (optional)
  notes: decoupled weight decay is 解耦权重衰减
  avoid: [解耦的权重衰减]          # spellings that drifted in: listed wherever they appear
  first_use: 词元 (token)        # the form of the first use on each page (optional)
  check: true                   # false: documentation only (the translation depends on context)
rules:                          # style rules on the translated text (regular expressions)
- pattern: '[ぁ-ヿ一-鿿][,:;]'
  message: ASCII punctuation after Japanese text; use 、：
```

`translate status` lists every translated chunk whose English holds a checked term while its
translation holds neither the agreed translation, nor one of `also`, nor the English term itself
(a paper title or a name stays English); a chunk that holds an `avoid` spelling; the first chunk
of a page that uses a `first_use` term without that form; and every match of a rule (the
`glossary` column).
`glossary.<lang>.md` is generated from this file (`pylit translate glossary --lang LANG`); a
test keeps the two in step, so edit the YAML.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .keys import PLACEHOLDER_RE


@dataclass(frozen=True)
class Term:
    term: str
    translation: str
    notes: str = ''
    also: tuple[str, ...] = ()
    check: bool = True
    section: str = ''
    avoid: tuple[str, ...] = ()
    first_use: str = ''
    first_use_also: tuple[str, ...] = ()

    @property
    def pattern(self) -> re.Pattern:
        words = [re.escape(w) for w in re.split(r'[\s-]+', self.term.strip())]
        body = r'[\s-]+'.join(words)
        return re.compile(rf'(?<![\w-]){body}(?:s|es)?(?![\w-])', re.IGNORECASE)


@dataclass
class Glossary:
    lang: str
    title: str = ''
    intro: str = ''
    terms: list[Term] = field(default_factory=list)
    rules: list[tuple[re.Pattern, str]] = field(default_factory=list)
    path: Path | None = None

    def violations(self, key: str, value: str) -> list[tuple[str, str]]:
        """
        `(term, message)` for each checked term in the English of `key` missing from
        `value`, each avoided spelling in `value`, and each style rule `value` breaks.
        """
        english = _text(key)
        translated = _text(value)
        out = []
        for t in self.terms:
            for bad in t.avoid:
                if bad in translated:
                    out.append((t.term, f'writes {bad!r}; the agreed form is {t.translation!r}'))
            if not t.check or not t.pattern.search(english):
                continue
            if any(form and form in translated for form in (t.translation, *t.also)):
                continue
            if t.pattern.search(translated):
                continue  # kept in English: a paper title, a name, an identifier
            out.append((t.term, f'has the term {t.term!r} but its translation lacks {t.translation!r}'))
        for pattern, message in self.rules:
            m = pattern.search(translated)
            if m:
                out.append(('(style)', f'{message}: {m.group(0)!r}'))
        return out

    def page_violations(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
        """
        `(key, term, form)` for each `first_use` term whose first use on a page (the
        translated chunks `(key, value)` in source order) lacks that form.
        """
        out = []
        # the page body: a title or summary (plain text, not HTML) is too short for a gloss
        pairs = [(k, v) for k, v in pairs if k.startswith('<')]
        for t in self.terms:
            if not t.first_use:
                continue
            for key, value in pairs:
                translated = _text(value)
                if t.translation not in translated:
                    continue
                if not any(form in translated for form in (t.first_use, *t.first_use_also)):
                    out.append((key, t.term, f'the first use of {t.translation!r} on the page should be '
                                             f'written {t.first_use!r}'))
                break
        return out

    def to_markdown(self) -> str:
        """The readable glossary (`glossary.<lang>.md`)."""
        lines = [f'# {self.title or "Glossary (" + self.lang + ")"}', '']
        lines.append(f'<!-- Generated from glossary.{self.lang}.yaml by `pylit translate glossary '
                     f'--lang {self.lang}`; edit the YAML file. -->')
        lines.append('')
        if self.intro:
            lines += [self.intro.strip(), '']
        section = None
        for t in self.terms:
            if t.section != section:
                if section is not None:
                    lines.append('')
                section = t.section
                if section:
                    lines += [f'## {section}', '']
                lines += ['| English | translation | checked | note |', '|---|---|---|---|']
            also = f' (also: {", ".join(t.also)})' if t.also else ''
            note = (t.notes + also).strip().replace('\n', ' ')
            extra = []
            if t.first_use:
                extra.append(f'first use on a page: {t.first_use}')
            if t.avoid:
                extra.append(f'not: {", ".join(t.avoid)}')
            note = '; '.join(x for x in [note, *extra] if x).replace('|', '\\|')
            lines.append(f'| {t.term} | {t.translation} | {"yes" if t.check else "no"} | {note} |')
        if self.rules:
            lines += ['', '## Style rules (checked)', '']
            lines += [f'* {message}' for _, message in self.rules]
        return '\n'.join(lines) + '\n'


def _text(html_text: str) -> str:
    """The words of a key or translation: tags and placeholders out, entities decoded."""
    text = PLACEHOLDER_RE.sub(' ', html_text)
    text = re.sub(r'<[^<>]*>', ' ', text)
    return html.unescape(text)


def glossary_path(cache_dir: Path | str, lang: str) -> Path:
    return Path(cache_dir) / f'glossary.{lang}.yaml'


def load_glossary(cache_dir: Path | str, lang: str) -> Glossary | None:
    """The glossary of `lang`, `None` if it has none; raises `ValueError` (one line) if malformed."""
    path = glossary_path(cache_dir, lang)
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8')) or {}
    except yaml.YAMLError as e:
        raise ValueError(f'{path}: not valid YAML: {e}'.replace('\n', ' ')) from None
    if not isinstance(data, dict) or not isinstance(data.get('terms', []), list):
        raise ValueError(f'{path}: expected a mapping with a list `terms:` of {{term, translation, notes}}')
    terms = []
    for i, t in enumerate(data.get('terms') or []):
        if not isinstance(t, dict) or not t.get('term') or not t.get('translation'):
            raise ValueError(f'{path}: term {i + 1} needs `term` and `translation`')
        terms.append(Term(term=str(t['term']), translation=str(t['translation']),
                          notes=str(t.get('notes') or ''), also=tuple(str(a) for a in t.get('also') or ()),
                          check=bool(t.get('check', True)), section=str(t.get('section') or ''),
                          avoid=tuple(str(a) for a in t.get('avoid') or ()),
                          first_use=str(t.get('first_use') or ''),
                          first_use_also=tuple(str(a) for a in t.get('first_use_also') or ())))
    rules = []
    for i, r in enumerate(data.get('rules') or []):
        try:
            rules.append((re.compile(str(r['pattern'])), str(r.get('message') or r['pattern'])))
        except (KeyError, TypeError, re.error) as e:
            raise ValueError(f'{path}: rule {i + 1} needs a valid `pattern`: {e}') from None
    return Glossary(lang=lang, title=str(data.get('title') or ''), intro=str(data.get('intro') or ''),
                    terms=terms, rules=rules, path=path)


def write_markdown(cache_dir: Path | str, lang: str) -> Path | None:
    """Regenerate `glossary.<lang>.md` from the YAML; returns its path (`None` without a glossary)."""
    from ..write import write_atomic
    g = load_glossary(cache_dir, lang)
    if g is None:
        return None
    out = Path(cache_dir) / f'glossary.{lang}.md'
    write_atomic(out, g.to_markdown())
    return out
