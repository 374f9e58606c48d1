"""
---
title: Flags from a dataclass, and what may change on resume
summary: >
  An experiment's hyper-parameters are a dataclass; every field is a
  command-line flag, checked before anything runs, and each flag says whether it
  may change when a run is resumed.
---

# Flags from a dataclass, and what may change on resume

An experiment lists its hyper-parameters once, as the fields of a dataclass
derived from `RunConfig`. That one list is

* **the command line**: the field `d_model` is the flag `--d-model` (and
  `--d_model`), a `bool` field is a pair `--x`/`--no-x`, `--help` shows every
  field with its default and help text;
* **checked before anything runs**: an unknown flag, a value of the wrong type,
  a value outside its `choices`, a flag given twice, or a value that
  `validate()` rejects stops the program with one line naming the flag;
* **the record of the run**: `config.json` in the run folder holds the values
  the run actually used.

## The rule on `--resume`

A resumed run continues from a checkpoint, and the checkpoint was made with
some configuration. When the user passes a different value on `--resume`, there
are only two honest answers, and each flag declares its own:

* `on_resume='refuse'` (the default): the run stops with one line naming the flag,
  its value in the checkpoint and the new value. This is right for everything the
  saved state depends on: the model's shape, the data, the seed, and the
  optimizer's hyper-parameters, which `load_state_dict` would otherwise silently
  replace by the checkpoint's values.
* `on_resume='apply'`: the new value is used from the resumed step on and
  recorded truthfully: `config.json` holds the new value, and its `resumed`
  list says at which step which flag changed from what to what. This is right
  for values the loop reads afresh at every step: the number of steps, the
  learning rate of a schedule, how often to log, validate and save, the device.

The base fields below follow that rule: `seed` refuses, the rest apply.
"""

import argparse
import dataclasses
import typing
from typing import Any, Dict, List, Optional, Sequence, Tuple

from labml_nn.experiments.errors import ExperimentError

# The two answers a flag can give on `--resume`
ON_RESUME = ('refuse', 'apply')


def flag(default: Any, help: str = '', on_resume: str = 'refuse', choices: Optional[Sequence[Any]] = None) -> Any:
    """
    ## Declare a flag

    A `dataclasses.field` with its default, a help text, the rule on
    `--resume`, and optionally the allowed values.
    """
    if on_resume not in ON_RESUME:
        raise ValueError(f"on_resume must be 'refuse' or 'apply', got {on_resume!r}")
    return dataclasses.field(default=default, metadata={'help': help, 'on_resume': on_resume,
                                                        'choices': list(choices) if choices else None})


def metadata(config_cls: type, name: str) -> Dict[str, Any]:
    """
    The help text, rule and choices of a field. A subclass that only changes a
    default (`steps: int = 2000`) keeps what the base class declared.
    """
    for cls in type.mro(config_cls) if isinstance(config_cls, type) else type(config_cls).mro():
        fields = getattr(cls, '__dataclass_fields__', {})
        if name in fields and fields[name].metadata:
            return dict(fields[name].metadata)
    return {}


def flag_name(name: str) -> str:
    """The command-line spelling of a field: `d_model` is `--d-model`"""
    return '--' + name.replace('_', '-')


@dataclasses.dataclass
class RunConfig:
    """
    ## The fields every run has

    An experiment derives its own dataclass from this one and may change the
    defaults by declaring a field again with the same name.
    """
    # The run folder; empty means `runs/<name>` (the name the experiment gives its `Run`)
    out: str = flag('', help='run folder for config.json, metrics.csv and checkpoint.pt; empty: runs/<name>',
                    on_resume='apply')
    resume: bool = flag(False, help='continue the run in --out from its checkpoint', on_resume='apply')
    seed: int = flag(0, help='random seed of the weights, the data order and the noise')
    device: str = flag('auto', help='where to train: cpu, cuda, or auto (cuda when there is a GPU)',
                       on_resume='apply', choices=['cpu', 'cuda', 'auto'])
    steps: int = flag(1000, help='total number of training steps', on_resume='apply')
    log_every: int = flag(10, help='steps per row of metrics.csv (the train values are averaged over them)',
                          on_resume='apply')
    eval_every: int = flag(100, help='steps between validations', on_resume='apply')
    checkpoint_every: int = flag(100, help='steps between checkpoints', on_resume='apply')

    def validate(self):
        """
        ### Check the values

        Types and `choices` are checked for every field; the numbers below must be
        positive. An experiment overrides this, calls `super().validate()` and adds its
        own checks, raising an `ExperimentError` that names the flag.
        """
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = hints[f.name]
            ok = (isinstance(value, bool) if kind is bool else
                  isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float else
                  isinstance(value, int) and not isinstance(value, bool) if kind is int else
                  isinstance(value, kind) if isinstance(kind, type) else True)
            if not ok:
                raise ExperimentError(f"{flag_name(f.name)} must be a {kind.__name__}, got {value!r}")
            choices = metadata(type(self), f.name).get('choices')
            if choices and value not in choices:
                raise ExperimentError(f"{flag_name(f.name)} must be one of {', '.join(map(str, choices))}, "
                                      f"got {value!r}")
        check_positive(self, 'steps', 'log_every', 'eval_every', 'checkpoint_every')

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


def check_positive(cfg: Any, *names: str):
    """Raise an `ExperimentError` naming the first field in `names` that is not positive"""
    for name in names:
        value = getattr(cfg, name)
        if not value > 0:
            raise ExperimentError(f"{flag_name(name)} must be positive, got {value}")


def check_range(cfg: Any, name: str, low: float, high: float, *, low_open: bool = False, high_open: bool = False):
    """Raise an `ExperimentError` unless `low <= value <= high` (`<` where open)"""
    value = getattr(cfg, name)
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):
        raise ExperimentError(f"{flag_name(name)} must lie in {'(' if low_open else '['}{low:g}, {high:g}"
                              f"{')' if high_open else ']'}, got {value}")


class _OneLineParser(argparse.ArgumentParser):
    # `argparse` prints the usage and exits; we raise one line instead, which
    # `run_main` prints
    def error(self, message: str):
        raise ExperimentError(f"{message} (see --help)")


def make_parser(config_cls: type, description: str = '', prog: Optional[str] = None) -> argparse.ArgumentParser:
    """
    ## The parser

    One argument per field, with the field's type, default and help text.
    """
    parser = _OneLineParser(prog=prog, description=description, allow_abbrev=False,
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    hints = typing.get_type_hints(config_cls)
    for f in dataclasses.fields(config_cls):
        names = [flag_name(f.name)] + (['--' + f.name] if '_' in f.name else [])
        kind = hints[f.name]
        meta = metadata(config_cls, f.name)
        help_text = meta.get('help') or ' '
        if meta.get('on_resume', 'refuse') == 'refuse' and f.name != 'resume':
            help_text += ' (fixed on --resume)'
        if kind is bool:
            # `BooleanOptionalAction` adds `--no-x` for every `--x`
            parser.add_argument(*names, dest=f.name, action=argparse.BooleanOptionalAction,
                                default=f.default, help=help_text)
        else:
            choices = meta.get('choices')
            parser.add_argument(*names, dest=f.name, type=kind, default=f.default, help=help_text, choices=choices,
                                metavar='{' + ','.join(map(str, choices)) + '}' if choices else f.name.upper())
    return parser


def _given_flags(argv: Sequence[str], config_cls: type) -> List[str]:
    # The fields named on the command line, once per occurrence
    fields = {f.name for f in dataclasses.fields(config_cls)}
    given = []
    for token in argv:
        if not token.startswith('--') or token == '--':
            continue
        name = token[2:].split('=', 1)[0].replace('-', '_')
        if name not in fields and name.startswith('no_') and name[3:] in fields:
            name = name[3:]
        if name in fields:
            given.append(name)
    return given


def parse_config(config_cls: type, argv: Optional[Sequence[str]] = None, description: str = '',
                 prog: Optional[str] = None):
    """
    ## Parse and validate

    Returns the validated configuration. Raises `ExperimentError` for an unknown
    flag, a bad value, or a flag given more than once (also as `--x` and
    `--no-x`): with two values on one command line, one of them would be ignored
    silently. `--help` prints the flags and raises `SystemExit(0)`.
    """
    import sys
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser(config_cls, description, prog)
    given = _given_flags(argv, config_cls)
    for name in given:
        if given.count(name) > 1:
            raise ExperimentError(f"{flag_name(name)} is given more than once; give each flag once")
    cfg = config_cls(**vars(parser.parse_args(argv)))
    if hasattr(cfg, 'validate'):
        cfg.validate()
    return cfg


def resume_changes(cfg: RunConfig, saved: Dict[str, Any], where: str) -> Dict[str, Tuple[Any, Any]]:
    """
    ## Apply the rule on `--resume`

    * `cfg` is the configuration given now
    * `saved` is the configuration stored in the checkpoint
    * `where` names the run folder in messages

    Raises `ExperimentError` for the first changed flag that refuses to change;
    returns `{field: (old, new)}` for the changed flags that apply.
    """
    applied = {}
    for f in dataclasses.fields(cfg):
        if f.name in ('resume', 'out') or f.name not in saved:
            continue
        old, new = saved[f.name], getattr(cfg, f.name)
        if old == new:
            continue
        if metadata(type(cfg), f.name).get('on_resume', 'refuse') == 'refuse':
            raise ExperimentError(f"{flag_name(f.name)} is {new!r} but the run in {where} was made with {old!r}, "
                                  f"and {flag_name(f.name)} can't change on --resume; pass {flag_name(f.name)} "
                                  f"{old!r} or start a new run in another --out")
        applied[f.name] = (old, new)
    return applied
