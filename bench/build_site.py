"""
Benchmark of the site build.

Generates a tree of about 220 modules with about 3,500 formulas (inline, display and align),
then times, each as a fresh `pylit` process:

* a cold full build (empty output folder),
* a no-change rebuild,
* a rebuild after one module changed,
* (with `--translate`) a translated cold build of the same tree, against the English one;
* (with `--languages en,zh,ja,si`) one cold build of every language in one run (the caches are
  filled first by a build, as copies of the English text), its no-change rebuild, and one
  edited module, against Pycco's English-only build of the same tree (`--pycco`; install it
  with `pip install -r bench/requirements.txt`, it is not a dependency of pylit).

Run: `.venv/bin/python bench/build_site.py [--modules 220] [--jobs 2] [--repeat 3] [--languages en,zh,ja,si --pycco]`
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INLINE = [r'\alpha_{%d}', r'x_{t-%d}^2', r'\beta_1 m_{t-1} + (1 - \beta_1) g_t + %d', r'\hat{v}_%d',
          r'\frac{\partial L}{\partial \theta_{%d}}', r'\sqrt{v_t + \epsilon} \cdot %d', r'\mathbb{E}[x_%d]']
DISPLAY = [r'\theta_{t+1} = \theta_t - \eta \frac{\hat{m}_t}{\sqrt{\hat{v}_t} + \epsilon} + %d',
           r'\text{softmax}\Big(\frac{Q K^\top}{\sqrt{d_k}}\Big) V_{%d}',
           r'\sum_{i=1}^{N} \log p(x_i \mid x_{<i}) - %d']
ALIGN = r'''\begin{align}
m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 + %d
\end{align}'''


def make_module(rng: random.Random, i: int) -> tuple[str, int]:
    """A module with front matter, a class, methods and comment runs; returns its text and formula count."""
    n = 0

    def inline():
        nonlocal n
        n += 1
        return '$' + rng.choice(INLINE) % rng.randint(0, 99) + '$'

    def display():
        nonlocal n
        n += 1
        if rng.random() < 0.4:
            return ALIGN % rng.randint(0, 99)
        return '$$' + rng.choice(DISPLAY) % rng.randint(0, 99) + '$$'

    parts = [f'"""\n---\ntitle: Module {i}\nsummary: A generated module number {i} for the build benchmark.\n---\n\n'
             f'# Module {i}\n\nThis module computes {inline()} and {inline()} with `torch`.\n\n{display()}\n\n'
             f'* {inline()} is the first symbol\n* {inline()} is the second\n"""\n\nimport torch\n\n']
    for c in range(2):
        parts.append(f'\nclass Block{c}(torch.nn.Module):\n    """\n    ## Block {c}\n\n'
                     f'    It keeps {inline()}.\n\n    {display()}\n    """\n\n')
        for m in range(2):
            parts.append(f'    def step_{m}(self, x: torch.Tensor):\n        """\n        Take step {m}: {inline()}\n        """\n')
            for k in range(2):
                parts.append(f'        # Compute {inline() if k == 0 else "the next value"} from `x`\n        #\n'
                             f'        # then scale it\n        x = x * {k + 1} + {m}\n')
            parts.append('        return x\n\n')
    return ''.join(parts), n


def make_tree(root: Path, modules: int, seed: int = 0) -> int:
    rng = random.Random(seed)
    total = 0
    (root / '__init__.py').write_text('"""\n---\ntitle: Bench home\nsummary: The home page.\n---\n\n# Home\n"""\n')
    per_folder = 20
    for i in range(modules - 1):
        folder = root / f'section_{i // per_folder}'
        if not folder.exists():
            folder.mkdir()
            (folder / '__init__.py').write_text(f'"""\n# Section {i // per_folder}\n\nIndex of $x_{i}$.\n"""\n')
            total += 1
        text, n = make_module(rng, i)
        (folder / f'module_{i}.py').write_text(text)
        total += n
    return total


CPU: dict[str, list[float]] = {}


def _children_cpu() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd: list[str], cwd: Path, label: str | None = None) -> float:
    """Wall-clock seconds of one command; its CPU seconds (with its workers) go to `CPU[label]`."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if label:
        CPU.setdefault(label, []).append(_children_cpu() - cpu)
    if proc.returncode != 0:
        sys.exit(f'build failed ({proc.returncode}):\n{proc.stderr[-2000:]}')
    return took


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--modules', type=int, default=220)
    p.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--translate', action='store_true', help='also time a translated (zh) build')
    p.add_argument('--languages', help='also time one build of these languages (such as en,zh,ja,si)')
    p.add_argument('--pycco', action='store_true', help="also time Pycco's English-only build of the tree")
    p.add_argument('--json', help='write the figures to this JSON file')
    args = p.parse_args()

    pylit = [sys.executable, '-m', 'pylit']
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / 'src'
        src.mkdir()
        formulas = make_tree(src, args.modules)
        n_modules = len(list(src.rglob('*.py')))
        base = pylit + ['--title_md', '--jobs', str(args.jobs)]
        cold, nochange, changed, translated = [], [], [], []
        multi_cold, multi_nochange, multi_changed, pycco = [], [], [], []
        for r in range(args.repeat):
            out = tmp / 'out'
            shutil.rmtree(out, ignore_errors=True)
            cold.append(run(base + ['-d', str(out), *sorted(os.listdir(src))], src, 'cold'))
            nochange.append(run(base + ['-d', str(out), *sorted(os.listdir(src))], src))
            target = src / 'section_3' / 'module_65.py'
            target.write_text(target.read_text() + f'\n# A change, number {r}, with $z_{r}$\nz = {r}\n')
            changed.append(run(base + ['-d', str(out), *sorted(os.listdir(src))], src))
            if args.translate:
                cache = tmp / 'cache'
                shutil.rmtree(cache, ignore_errors=True)
                # A first translated build fills the cache; the timed one reads it
                run(base + ['--translate', 'zh', '--translate_cache', str(cache), '-d', str(tmp / 'zh0'),
                            *sorted(os.listdir(src))], src)
                shutil.rmtree(tmp / 'zh', ignore_errors=True)
                translated.append(run(base + ['--translate', 'zh', '--translate_cache', str(cache),
                                              '-d', str(tmp / 'zh'), *sorted(os.listdir(src))], src))

            if args.languages:
                cache = tmp / 'multi_cache'
                entries = sorted(n for n in os.listdir(src) if not n.startswith('.'))
                multi = base + ['--languages', args.languages, '--translate_cache', str(cache)]
                if r == 0:
                    # The caches, as copies of the English text, made by a first build
                    run(multi + ['-d', str(tmp / 'multi0'), *entries], src)
                shutil.rmtree(tmp / 'multi', ignore_errors=True)
                multi_cold.append(run(multi + ['-d', str(tmp / 'multi'), *entries], src, 'multi_cold'))
                multi_nochange.append(run(multi + ['-d', str(tmp / 'multi'), *entries], src, 'multi_nochange'))
                target = src / 'section_5' / 'module_101.py'
                target.write_text(target.read_text() + f'\n# Another change, number {r}\nw = {r}\n')
                multi_changed.append(run(multi + ['-d', str(tmp / 'multi'), *entries], src))
            if args.pycco:
                shutil.rmtree(tmp / 'pycco', ignore_errors=True)
                files = sorted(str(p.relative_to(src)) for p in src.rglob('*.py'))
                pycco.append(run([str(Path(sys.executable).parent / 'pycco'), '-p', '-d', str(tmp / 'pycco'), *files], src, 'pycco'))

    med = statistics.median
    figures = {
        'modules': n_modules, 'formulas': formulas, 'jobs': args.jobs, 'repeat': args.repeat,
        'cold_s': med(cold), 'nochange_s': med(nochange), 'one_changed_s': med(changed),
        'cold_modules_per_s': n_modules / med(cold), 'cold_formulas_per_s': formulas / med(cold),
    }
    print(f'tree: {n_modules} modules, {formulas} formulas; --jobs {args.jobs}; median of {args.repeat}')
    print(f'cold full build:   {med(cold):6.2f} s  ({n_modules / med(cold):6.1f} modules/s, '
          f'{formulas / med(cold):7.1f} formulas/s)   target <= 4 s')
    print(f'no-change rebuild: {med(nochange):6.2f} s   target <= 0.5 s')
    print(f'one module changed:{med(changed):6.2f} s   target <= 0.5 s')
    if translated:
        figures['translated_cold_s'] = med(translated)
        figures['translated_ratio'] = med(translated) / med(cold)
        print(f'translated (zh) cold build: {med(translated):6.2f} s = {med(translated) / med(cold):.2f}x English   target <= 1.3x')
    if multi_cold:
        n = len(args.languages.split(','))
        figures.update({'languages': args.languages, 'multi_cold_s': med(multi_cold),
                        'multi_nochange_s': med(multi_nochange), 'multi_one_changed_s': med(multi_changed)})
        print(f'{n} languages ({args.languages}) in one run: cold {med(multi_cold):6.2f} s, '
              f'no change {med(multi_nochange):5.2f} s (target <= 0.3 s), one module changed {med(multi_changed):5.2f} s')
    if pycco:
        figures['pycco_s'] = med(pycco)
        print(f"Pycco, English only:   {med(pycco):6.2f} s")
        if multi_cold:
            figures['multi_vs_pycco'] = med(multi_cold) / med(pycco)
            print(f'{args.languages} with pylit / English with Pycco: {med(multi_cold) / med(pycco):.2f}x   target <= 1.0x')
    if CPU:
        figures['cpu_s'] = {k: med(v) for k, v in CPU.items()}
        print('CPU seconds (the build and its workers; robust to other jobs on the machine): '
              + ', '.join(f'{k} {med(v):.2f}' for k, v in CPU.items()))
        if 'multi_cold' in CPU and 'pycco' in CPU:
            print(f'CPU ratio, {args.languages} with pylit / English with Pycco: '
                  f'{med(CPU["multi_cold"]) / med(CPU["pycco"]):.2f}x')
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == '__main__':
    main()
