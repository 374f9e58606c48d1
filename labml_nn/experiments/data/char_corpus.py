r"""
---
title: A character corpus
summary: >
  Tiny Shakespeare (found on disk or downloaded once with its checksum), a
  character tokenizer, and batches of random windows for next-character
  prediction.
---

# A character corpus

The text experiments learn to predict the next character of a plain-text
file, by default Tiny Shakespeare: about a million characters of plays, from
[The Unreasonable Effectiveness of Recurrent Neural Networks](http://karpathy.github.io/2015/05/21/rnn-effectiveness/).

* **The file.** `--data PATH` if given (it must exist), else
  `data/tiny_shakespeare.txt` in the working folder, else downloaded once to that
  place ([with its checksum](download.html)).
* **Tokens.** Every distinct character is a token, and a token's id is the
  character's position in the sorted list of characters; Tiny Shakespeare has 65.
* **Splits.** The last `valid_fraction` of the text is the validation split. We cut
  at one point rather than at random so that no validation window overlaps a
  training one.
* **Batches.** A training batch is `batch_size` windows of `seq_len + 1`
  characters at random positions of the training split: the first `seq_len` are
  the input, the last `seq_len` the targets, so position $i$ learns to predict
  character $i + 1$. The positions come from a generator the caller passes
  (`run.generator`), so the same seed gives the same batches, in every process and
  after a resume.
"""

from pathlib import Path
from typing import Sequence, Tuple

import torch

from labml_nn.experiments.data.download import download
from labml_nn.experiments.errors import ExperimentError

# The standard Tiny Shakespeare file (1,115,394 bytes)
TINY_SHAKESPEARE_URL = 'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt'
TINY_SHAKESPEARE_SHA256 = '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed'
# Where we look for it, and save it, when `--data` is not given (relative to the working folder)
DEFAULT_CORPUS = Path('data') / 'tiny_shakespeare.txt'


def find_corpus(data: str, *, url: str = TINY_SHAKESPEARE_URL, sha256: str = TINY_SHAKESPEARE_SHA256,
                default: Path = DEFAULT_CORPUS) -> Path:
    """
    ## Locate the text file

    * `data` is the path given with `--data`, or an empty string
    * `url`, `sha256` and `default` say where to download Tiny Shakespeare from,
      what its checksum is, and where to keep it
    """
    # An explicit path must exist; we never fall back silently from a typo
    if data:
        path = Path(data)
        if not path.is_file():
            raise ExperimentError(f"data file {path} does not exist; pass --data with the path of a "
                                  f"plain-text file, or leave --data out to use Tiny Shakespeare")
        return path
    if Path(default).is_file():
        return Path(default)
    download(url, Path(default), sha256, 'Tiny Shakespeare', hint='or pass --data PATH')
    return Path(default)


def read_text(path: Path) -> str:
    """
    ## Read the corpus as UTF-8 text
    """
    try:
        text = Path(path).read_text(encoding='utf-8')
    except UnicodeDecodeError as e:
        raise ExperimentError(f"data file {path} is not UTF-8 text (bad byte at offset {e.start}); "
                              f"pass --data with a plain-text file") from None
    except OSError as e:
        raise ExperimentError(f"can't read data file {path} ({e.strerror}); check the path and its permissions") \
            from None
    if not text:
        raise ExperimentError(f"data file {path} is empty; pass --data with a file that has some text in it")
    return text


class CharTokenizer:
    """
    ## Character tokenizer
    """

    def __init__(self, chars: str):
        """
        * `chars` is the vocabulary, each character once
        """
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> 'CharTokenizer':
        """The sorted set of the characters of `text`"""
        return cls(''.join(sorted(set(text))))

    @property
    def n_vocab(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """Characters to a tensor of token ids"""
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            raise ExperimentError(f"text contains characters that are not in the corpus: {''.join(unknown)!r}; "
                                  f"use only characters that occur in the training text")
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)

    def decode(self, ids: Sequence[int]) -> str:
        """Token ids back to characters"""
        return ''.join(self.chars[i] for i in ids)


class TextDataset:
    """
    ## Training and validation windows
    """

    def __init__(self, text: str, seq_len: int, valid_fraction: float, source: str = 'corpus'):
        """
        * `text` is the whole corpus
        * `seq_len` is the number of tokens the model sees at once
        * `valid_fraction` is the share of the text held out for validation
        * `source` names the corpus in error messages
        """
        if not text:
            raise ExperimentError(f"{source} is empty; pass --data with a file that has some text in it")
        self.tokenizer = CharTokenizer.from_text(text)
        tokens = self.tokenizer.encode(text)
        n_valid = int(len(tokens) * valid_fraction)
        self.train = tokens[:len(tokens) - n_valid]
        self.valid = tokens[len(tokens) - n_valid:]
        # Each split must hold at least one window of `seq_len` inputs and their `seq_len` targets
        shortest = min(len(self.train), len(self.valid))
        if shortest < seq_len + 1:
            raise ExperimentError(f"seq_len={seq_len} is too long for {source}: its {len(tokens)} characters give "
                                  f"splits of {len(self.train)} (train) and {len(self.valid)} (valid), and each needs "
                                  f"seq_len + 1; lower --seq-len or use a longer text")
        self.seq_len = seq_len
        self.offsets = torch.arange(seq_len + 1)

    def _windows(self, tokens: torch.Tensor, starts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        # Gather `[n, seq_len + 1]` windows in one indexing operation
        w = tokens[starts.unsqueeze(1) + self.offsets]
        # Inputs are the first `seq_len` tokens, targets the same shifted by one
        return w[:, :-1], w[:, 1:]

    def train_batch(self, batch_size: int, generator: torch.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        ### A random training batch

        Returns inputs and targets of shape `[batch_size, seq_len]`.
        """
        starts = torch.randint(0, len(self.train) - self.seq_len, (batch_size,), generator=generator)
        return self._windows(self.train, starts)

    def valid_windows(self, n: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        ### A fixed set of validation windows

        `n` windows spread evenly over the validation split, always the same ones,
        so that validation losses of different steps and runs are comparable.
        """
        last = len(self.valid) - self.seq_len - 1
        starts = torch.linspace(0, last, n).round().long()
        return self._windows(self.valid, starts)

    def unigram_loss(self) -> float:
        r"""
        ### The unigram baseline

        The validation loss of a model that ignores the context and always predicts
        the character frequencies of the training split (with one extra count for every
        character, so none has probability zero):
        $-\frac{1}{N} \sum_t \log p(c_t)$.
        A language model must get well below this to have learned anything about context.
        """
        counts = torch.bincount(self.train, minlength=self.tokenizer.n_vocab).double() + 1
        log_p = torch.log(counts / counts.sum())
        return -log_p[self.valid].mean().item()
