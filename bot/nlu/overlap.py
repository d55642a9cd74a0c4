"""Texts that must never be training examples: the evaluation sets.

A score on text the model was trained on means nothing. The evaluation texts are
this project's held-out sets (data/test/) and the public corpora in ../shared/eval
(or `BOT_EVAL_DIR`), compared after `bot.nlu.examples.normalize` (case, punctuation,
white space, Latvian diacritics, entity markup). The public corpora are not part of
this repository, so their texts are also kept here as SHA-256 fingerprints
(data/evaluation_fingerprints.txt, `python -m bot.nlu.overlap` writes it): a
clone without ../shared still refuses them, and the texts themselves are not copied.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.config import PROJECT_ROOT, get_settings
from bot.nlu.examples import normalize

FINGERPRINTS_FILE = PROJECT_ROOT / "data" / "evaluation_fingerprints.txt"
HEADER = (
    "# SHA-256 of the normalized texts of ../shared/eval/*.tsv (bot/nlu/overlap.py).\n"
    "# No training example may have one of these fingerprints.\n"
)


def public_eval_dir() -> Path:
    return get_settings().eval_dir


def fingerprint(text: str) -> str:
    """The fingerprint of a text, after normalizing it."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def public_eval_examples(directory: Path | None = None) -> Iterator[tuple[str, str, str]]:
    """(set name, intent, text) of every line of the public evaluation sets found."""
    directory = directory or public_eval_dir()
    for path in sorted(directory.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#") and "\t" in line:
                intent, text = line.split("\t", 1)
                yield path.stem, intent.strip(), text.strip()


def held_out_texts(project: Path = PROJECT_ROOT) -> set[str]:
    from bot.nlu.report import load_examples

    return {
        normalize(message.get("text"))
        for path in sorted((project / "data" / "test").glob("*.yml"))
        for message in load_examples(path)
    }


def evaluation_texts(project: Path = PROJECT_ROOT) -> set[str]:
    """Normalized texts of data/test and of the public sets, where they are here."""
    public = {normalize(text) for _, _, text in public_eval_examples()}
    return held_out_texts(project) | public


def evaluation_fingerprints(project: Path = PROJECT_ROOT) -> set[str]:
    """Fingerprints of every evaluation text: the kept file, plus what is here now."""
    known: set[str] = set()
    path = project / "data" / "evaluation_fingerprints.txt"
    if path.exists():
        known.update(
            line.strip()
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        )
    known.update(fingerprint(text) for _, _, text in public_eval_examples())
    known.update(hashlib.sha256(t.encode("utf-8")).hexdigest() for t in held_out_texts(project))
    return known


def write_fingerprints(directory: Path | None = None, path: Path = FINGERPRINTS_FILE) -> int:
    prints = sorted({fingerprint(text) for _, _, text in public_eval_examples(directory)})
    if not prints:
        raise FileNotFoundError(f"no evaluation sets (*.tsv) in {directory or public_eval_dir()}")
    path.write_text(HEADER + "\n".join(prints) + "\n", encoding="utf-8")
    return len(prints)


if __name__ == "__main__":
    count = write_fingerprints(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(f"{FINGERPRINTS_FILE.relative_to(PROJECT_ROOT)}: {count} fingerprints")
