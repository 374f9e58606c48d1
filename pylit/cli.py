"""
# Command line

```
pylit [--remove_empty_sections] [--title_md] [-t TEMPLATE_DIR] [--strict] [--jobs N]
      [--repo_url URL] [--site_url URL] [--issues_url URL] [--no_notebooks]
      [--languages en,zh,ja [--translate_cache DIR]] [--translate LANG --translate_cache DIR]
      [--page_timeout SECONDS] -d OUT_DIR PATH...
pylit translate status|prune|export-po|import-po ...
```

Run it from the source root (for example inside `labml_nn/`): each PATH is a file or a folder,
and the pages mirror the paths inside OUT_DIR.

`--languages en,zh,ja --translate_cache DIR` builds every language in one run: English into
OUT_DIR and each other language into OUT_DIR/<lang>/, parsing each module and rendering each
formula once. `--translate LANG` builds one language alone (into OUT_DIR).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='pylit', description='Build side-by-side pages from commented Python modules.')
    p.add_argument('paths', nargs='+', metavar='PATH', help='a module or a folder (searched for *.py)')
    p.add_argument('-d', '--directory', dest='out_dir', required=True, help='output folder')
    p.add_argument('-t', '--templates', dest='template_dir', help='folder of Jinja2 templates that override the defaults')
    p.add_argument('--remove_empty_sections', action='store_true', help='drop sections with neither notes nor code')
    p.add_argument('--title_md', action='store_true', help='without front matter, take the title from the first # heading')
    p.add_argument('--strict', action='store_true', help='exit non-zero on any warning')
    p.add_argument('--jobs', type=int, default=0, help='worker processes (default: all cores)')
    p.add_argument('--repo_url', help='URL of the source root on the repository host, for "view source" links')
    p.add_argument('--site_url', help='public URL of the (English) site root, for canonical and Open Graph URLs')
    p.add_argument('--issues_url', help='URL of the issue tracker (such as https://github.com/o/r/issues), for the '
                   '"report a problem" link of each section (default: from a GitHub --repo_url; none without)')
    p.add_argument('--languages', default='', help='comma-separated languages of the site (en first); with '
                   '--translate_cache and without --translate, every one of them is built, each other than '
                   'English into OUT_DIR/<lang>/')
    p.add_argument('--translate', metavar='LANG', help='build only the pages of this language from the translation cache')
    p.add_argument('--translate_cache', metavar='DIR', help='folder of the translation cache')
    p.add_argument('--no_notebooks', action='store_true', help='do not write a Jupyter notebook beside each tutorial page')
    p.add_argument('--page_timeout', type=float, default=60.0, metavar='SECONDS',
                   help='a page that takes longer to render is an error for that page (default: 60)')
    p.add_argument('--translate_cache_url', metavar='URL',
                   help='URL of the translation cache folder on the repository host, linked from translated pages')
    p.add_argument('--no_write_caches', action='store_true',
                   help='read the translation caches as they are and write nothing (the live preview)')
    p.add_argument('-q', '--quiet', action='store_true', help='print only problems')
    p.add_argument('--timings', action='store_true', help='print the seconds each stage of the build took')
    return p


def _unwritable(out: Path) -> str | None:
    """Why pages cannot be written into `out`, or `None`."""
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f'{existing} is a file, not a folder'
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f'cannot create it ({e.strerror})'
    if not os.access(out, os.W_OK | os.X_OK):
        return 'the folder is not writable'
    return None


def _early_katex(out_dir: Path):
    """
    For a cold build (no manifest in the output folder: every formula will be typeset), start
    KaTeX before importing the build, so that node starts while Python imports; `None` when
    KaTeX is not installed (the build then reports it) or the build is not cold.
    """
    from .write import MANIFEST
    if (out_dir / MANIFEST).exists():
        return None
    from .mathrender import KatexPool, MathSetupError, find_node_modules
    try:
        pool = KatexPool(find_node_modules(), processes=1)
    except MathSetupError:
        return None
    return pool


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == 'translate':
        from .translate.cli import main as translate_main
        return translate_main(argv[1:])
    args = make_parser().parse_args(argv)
    if args.jobs < 0:
        print('pylit: error: --jobs must be 0 (all cores) or more', file=sys.stderr)
        return 2
    if args.translate and not args.translate_cache:
        print('pylit: error: --translate needs --translate_cache DIR (the folder of <module>.<lang>.json files)', file=sys.stderr)
        return 2
    if args.page_timeout <= 0:
        print('pylit: error: --page_timeout must be more than 0 seconds', file=sys.stderr)
        return 2
    katex = _early_katex(Path(args.out_dir))
    from .build import BuildOptions, build
    from .discover import DiscoverError
    languages = tuple(l.strip() for l in args.languages.split(',') if l.strip())
    for lang in languages:
        if not re.fullmatch(r'[A-Za-z]{2,3}([-_][A-Za-z0-9]+)?', lang):
            print(f'pylit: error: --languages {args.languages}: {lang!r} is not a language code (such as en,zh,ja)',
                  file=sys.stderr)
            return 2
    problem = _unwritable(Path(args.out_dir))
    if problem:
        print(f'pylit: error: -d {args.out_dir}: {problem}; pass a folder you can write to', file=sys.stderr)
        return 2
    opts = BuildOptions(out_dir=Path(args.out_dir), paths=tuple(args.paths), root=Path('.'),
                        template_dir=Path(args.template_dir) if args.template_dir else None,
                        remove_empty_sections=args.remove_empty_sections, title_md=args.title_md,
                        strict=args.strict, jobs=args.jobs, repo_url=args.repo_url,
                        site_url=args.site_url, lang=args.translate or 'en', languages=languages,
                        translate_cache=Path(args.translate_cache) if args.translate_cache else None,
                        translate_cache_url=args.translate_cache_url, issues_url=args.issues_url,
                        notebooks=not args.no_notebooks, page_timeout=args.page_timeout,
                        write_caches=not args.no_write_caches)
    factory = None
    if args.translate:
        from .translate.site import TranslatorFactory
        factory = TranslatorFactory
    start = time.perf_counter()
    try:
        report = build(opts, factory, katex=katex)
    except DiscoverError as e:
        print(f'pylit: error: {e}', file=sys.stderr)
        return 2
    except OSError as e:
        # The disk filled up, or a folder inside -d cannot be written
        print(f'pylit: error: cannot write {e.filename or args.out_dir}: {e.strerror}; '
              f'check the folder given with -d', file=sys.stderr)
        return 2
    for d in report.diagnostics:
        print(d, file=sys.stderr)
    if not args.quiet:
        took = time.perf_counter() - start
        per_lang = ''
        if len(report.built_by_lang) > 1:
            per_lang = ' (' + ', '.join(f'{l} {len(b)}' for l, b in report.built_by_lang.items()) + ')'
        print(f'pylit: {len(report.built)} pages built{per_lang}, {len(report.skipped)} unchanged, '
              f'{report.formulas} formulas, {len(report.warnings)} warnings, {len(report.errors)} errors '
              f'in {took:.2f}s -> {opts.out_dir}', file=sys.stderr)
    if args.timings:
        print('pylit: stages (wall s / CPU s): ' + ', '.join(f'{k} {w:.3f}/{c:.3f}' for k, (w, c) in report.timings.items()),
              file=sys.stderr)
    return report.exit_status(args.strict)
