"""Adding NLU training examples safely: checks, then a round-trip YAML edit.

Every example is checked against the whole training set (all languages) and the
held-out test sets, after normalizing case, white space, punctuation, entity
markup and Latvian diacritics. Files are edited with ruamel.yaml's round trip (as
Rasa itself does), so layout and comments stay; all changed files are replaced
together and restored if Rasa's data validation then fails. One addition at a
time per project: two trainers labelling at once would otherwise both edit the
file as they read it and the second write would drop the first one's example.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from bot.errors import BotError
from bot.i18n import LANGUAGES, detect_language, fold_diacritics
from bot.security.redaction import contains_card_number

# Intents that only arrive as payloads (buttons, the card form, the console, the
# redacting channel) or from Rasa itself: typed examples would teach it wrongly.
PAYLOAD_ONLY_INTENTS = {"choose_card", "card_added", "card_number_in_chat", "nlu_fallback"}
MAX_TEXT_LENGTH = 300
ENTITY_MARKUP = re.compile(r"\[([^\]]*)\]\s*(?:\([^)]*\)|\{[^}]*\})")
NEW_FILE = "trainer.yml"
# Every character str.splitlines() and YAML end a line at: one would start a new example.
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


class NluDataError(BotError):
    """The training data cannot be read or written as asked."""


class ValidationFailed(NluDataError):
    """Rasa's data validation failed after the edit; the files were restored."""


def normalize(text: str) -> str:
    """How duplicates are recognized: no case, diacritics, punctuation or entity markup."""
    text = ENTITY_MARKUP.sub(r"\1", text)
    return " ".join(re.sub(r"[\W_]+", " ", fold_diacritics(text.casefold())).split())


@dataclass(frozen=True)
class Example:
    intent: str
    lang: str
    text: str


@dataclass(frozen=True)
class Refusal:
    """Why an example was not added: a stable `code` for scripts, a message for people."""

    example: Example
    code: str
    message: str
    row: int | None = None


@dataclass
class AddResult:
    added: list[tuple[Example, str]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Known:
    intent: str
    lang: str
    path: str
    held_out: bool


class NluStore:
    """The project's NLU data: data/nlu/<lang>/*.yml and data/test/nlu_<lang>.yml."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.nlu_dir = project / "data" / "nlu"
        self.domain_intents = domain_intents(project / "domain.yml")
        self._yaml = _round_trip_yaml()
        self.known: dict[str, Known] = {}
        self._index_all()

    def _index_all(self) -> None:
        self.known = {}
        for path in sorted(self.nlu_dir.glob("*/*.yml")):
            self._index(path, path.parent.name, held_out=False)
        for lang in LANGUAGES:
            test_file = self.project / "data" / "test" / f"nlu_{lang}.yml"
            if test_file.exists():
                self._index(test_file, lang, held_out=True)
        from bot.nlu.overlap import evaluation_fingerprints

        self.evaluation_fingerprints = evaluation_fingerprints(self.project)

    def _index(self, path: Path, lang: str, held_out: bool) -> None:
        for block in self._load(path).get("nlu") or []:
            if "intent" not in block:
                continue
            for text in _example_lines(block.get("examples")):
                self.known.setdefault(
                    normalize(text),
                    Known(
                        str(block["intent"]), lang, str(path.relative_to(self.project)), held_out
                    ),
                )

    def _load(self, path: Path) -> Any:
        try:
            return self._yaml.load(path.read_text(encoding="utf-8")) or {}
        except Exception as exc:  # noqa: BLE001 - any YAML error names the file
            raise NluDataError(f"{path} is not valid YAML: {exc}") from exc

    def check(self, example: Example) -> Refusal | str | None:
        """A Refusal, a warning (str), or None when the example is fine."""
        text, intent, lang = example.text, example.intent, example.lang

        def refuse(code: str, message: str) -> Refusal:
            return Refusal(example, code, message)

        if lang not in LANGUAGES:
            return refuse("unknown_language", f"unknown language {lang!r} (use en, lv or zh)")
        if intent not in self.domain_intents:
            names = ", ".join(
                sorted(
                    n
                    for n in self.domain_intents - PAYLOAD_ONLY_INTENTS
                    if not n.startswith("EXTERNAL_")
                )
            )
            return refuse("unknown_intent", f"no intent {intent!r} in domain.yml; known: {names}")
        if intent in PAYLOAD_ONLY_INTENTS or intent.startswith("EXTERNAL_"):
            return refuse("payload_only", f"{intent} only arrives as a payload, never typed")
        if not text.strip() or LINE_BREAKS.intersection(text) or len(text) > MAX_TEXT_LENGTH:
            return refuse(
                "bad_text", f"the text must be one line of 1-{MAX_TEXT_LENGTH} characters"
            )
        if contains_card_number(text):
            return refuse("card_number", "the text holds a card number: never keep one")
        if "[" in text or "]" in text:
            problem = _entity_problem(text)
            if problem:
                return refuse("bad_entity", problem)
        key = normalize(text)
        if not key:
            return refuse("bad_text", "the text has no words")
        if hashlib.sha256(key.encode("utf-8")).hexdigest() in self.evaluation_fingerprints:
            if key not in self.known:
                return refuse(
                    "held_out",
                    "the same text is in a public evaluation set (../shared/eval): "
                    "training on it would spoil the evaluation",
                )
        known = self.known.get(key)
        if known is not None:
            if known.held_out:
                return refuse(
                    "held_out",
                    f"the same text is in the held-out test set ({known.path}, {known.intent}): "
                    "training on it would spoil the evaluation",
                )
            if known.intent == intent:
                return refuse("duplicate", f"already an example of {intent} ({known.path})")
            return refuse(
                "conflict", f"already an example of another intent: {known.intent} ({known.path})"
            )
        detected = detect_language(text)
        if detected is not None and detected != lang:
            return f"{text!r} looks like {detected}, not {lang}; added as {lang} anyway"
        other = _other_language(text)
        if other:
            return f"{text!r} looks like {other}, not {lang}; added as {lang} anyway"
        return None

    def add(self, examples: Iterable[Example], validate: bool = True) -> AddResult:
        """Adds the acceptable examples; reports the rest. All or nothing on disk.

        Holds the project's NLU lock from reading the files to validating them.
        """
        with nlu_lock(self.nlu_dir):
            self._index_all()
            return self._add(examples, validate)

    def _add(self, examples: Iterable[Example], validate: bool) -> AddResult:
        result = AddResult()
        accepted: list[Example] = []
        for row, example in enumerate(examples, start=1):
            verdict = self.check(example)
            if isinstance(verdict, Refusal):
                result.refused.append(Refusal(verdict.example, verdict.code, verdict.message, row))
                continue
            if verdict:
                result.warnings.append(verdict)
            accepted.append(example)
            # Later rows of the same batch are checked against this one too.
            self.known[normalize(example.text)] = Known(example.intent, example.lang, "", False)
        if not accepted:
            return result
        documents: dict[Path, Any] = {}
        for example in accepted:
            path = self._file_for(example, documents)
            document = documents.setdefault(path, self._document(path))
            _append(document, example)
            result.added.append((example, str(path.relative_to(self.project))))
        self._write_all(documents, validate)
        return result

    def _file_for(self, example: Example, documents: dict[Path, Any]) -> Path:
        folder = self.nlu_dir / example.lang
        for path in sorted(folder.glob("*.yml")):
            document = documents.get(path) or self._load(path)
            if any(b.get("intent") == example.intent for b in document.get("nlu") or []):
                return path
        return folder / NEW_FILE

    def _document(self, path: Path) -> Any:
        if path.exists():
            return self._load(path)
        return self._yaml.load('version: "3.1"\nnlu: []\n')

    def _write_all(self, documents: dict[Path, Any], validate: bool) -> None:
        originals = {p: (p.read_bytes() if p.exists() else None) for p in documents}
        try:
            for path, document in documents.items():
                buffer = io.StringIO()
                self._yaml.dump(document, buffer)
                path.parent.mkdir(parents=True, exist_ok=True)
                temporary = path.with_name(f".{path.name}.tmp")
                temporary.write_text(buffer.getvalue(), encoding="utf-8")
                os.replace(temporary, path)
            if validate:
                problems = validate_project(self.project)
                if problems:
                    raise ValidationFailed("Rasa's data validation failed: " + "; ".join(problems))
        except BaseException:
            for path, content in originals.items():
                if content is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(content)
            raise


@contextmanager
def nlu_lock(nlu_dir: Path) -> Iterator[None]:
    """An exclusive lock on data/nlu, for threads and processes alike (flock)."""
    nlu_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(nlu_dir, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


# Languages a trainer's example might be in by mistake (the bot's three, plus the
# region's and the most common others); the bot itself only tells en from lv.
_OTHER_LANGUAGES = ("GERMAN", "RUSSIAN", "LITHUANIAN", "ESTONIAN", "FRENCH", "SPANISH", "POLISH")


@lru_cache(maxsize=1)
def _wide_detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    languages = [Language.ENGLISH, Language.LATVIAN, Language.CHINESE]
    languages += [getattr(Language, name) for name in _OTHER_LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def _other_language(text: str) -> str | None:
    """The name of the language the text is in, when it is none of en, lv and zh."""
    if len(re.findall(r"[^\W\d_]", text)) < 10:
        return None  # too short to tell
    detected = _wide_detector().detect_language_of(text)
    if detected is None or detected.name in ("ENGLISH", "LATVIAN", "CHINESE"):
        return None
    return detected.name.capitalize()


def _round_trip_yaml() -> YAML:
    """ruamel.yaml set up to write Rasa's NLU files back byte for byte."""
    yaml: Any = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml


def _append(document: Any, example: Example) -> None:
    blocks = document.setdefault("nlu", [])
    for block in blocks:
        if block.get("intent") == example.intent:
            current = str(block.get("examples") or "")
            block["examples"] = LiteralScalarString(
                current.rstrip("\n") + ("\n" if current.strip() else "") + f"- {example.text}\n"
            )
            return
    blocks.append(
        {"intent": example.intent, "examples": LiteralScalarString(f"- {example.text}\n")}
    )


def _example_lines(examples: Any) -> list[str]:
    lines = []
    for line in str(examples or "").splitlines():
        line = line.strip()
        if line.startswith("- "):
            lines.append(line[2:].strip())
    return lines


def _entity_problem(text: str) -> str | None:
    """Rasa's own parser on the entity markup, e.g. "[4242](card_last4)"."""
    from rasa.shared.nlu.training_data.entities_parser import find_entities_in_training_example

    try:
        entities = find_entities_in_training_example(text)
    except Exception as exc:  # noqa: BLE001 - Rasa raises plain exceptions here
        return f"the entity markup is not valid: {exc}"
    if text.count("[") != len(entities):
        return "square brackets are only for entities, like [4242](card_last4)"
    return None


def domain_intents(domain: Path) -> set[str]:
    """The intent names a domain file declares."""
    loaded = YAML(typ="safe").load(domain.read_text(encoding="utf-8")) or {}
    names = set()
    for item in loaded.get("intents") or []:
        names.add(next(iter(item)) if isinstance(item, dict) else str(item))
    return names


def validate_project(project: Path) -> list[str]:
    """Rasa's data validation of the project, as `rasa data validate` runs it.

    Returns the problems (empty when valid). Warnings do not count, as in the CLI.
    """
    import logging
    import warnings

    # The checks `rasa data validate` runs (rasa.cli.utils.validate_files), without
    # its exit on failure.
    from rasa.cli.utils import _validate_domain, _validate_nlu, _validate_story_structure
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.validator import Validator

    problems: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                problems.append(record.getMessage())

    handler = Collect()
    logging.getLogger("rasa").addHandler(handler)
    cwd = Path.cwd()
    caught: list[warnings.WarningMessage] | None = []
    recorder = None
    try:
        os.chdir(project)  # the config names the importer; paths are the project's
        recorder = warnings.catch_warnings(record=True)
        caught = recorder.__enter__()  # a list that fills as warnings are raised
        warnings.simplefilter("always")
        importer = TrainingDataImporter.load_from_config(
            "config.yml", "domain.yml", training_data_paths=["data"]
        )
        validator = Validator.from_importer(importer)
        valid = all(
            [
                _validate_domain(validator),
                _validate_nlu(validator, False),
                _validate_story_structure(validator, None, False),
            ]
        )
    except Exception as exc:  # noqa: BLE001 - reading the data failed: that is the problem
        return [f"{exc.__class__.__name__}: {exc}"]
    finally:
        if recorder is not None:
            recorder.__exit__(None, None, None)
        os.chdir(cwd)
        logging.getLogger("rasa").removeHandler(handler)
    if valid:
        return []
    # Rasa reports validation errors as warnings; the blocking ones name the domain.
    problems += [
        str(w.message).split(" You should")[0]
        for w in caught or []
        if "not listed in the domain" in str(w.message) or "conflict" in str(w.message).lower()
    ]
    return problems or ["see Rasa's messages above"]
