"""NLU quality per language: held-out and cross-validation scores, per intent.

`bot nlu report` trains what it needs (one model on all training data, one per
cross-validation fold), reusing models whose config, domain and data are
unchanged (cached under .cache/nlu-report/), predicts, and writes to the output
folder: report.json, report.html, and confusion_<lang>.png per language. The
previous report.json is compared with the new one: which intents got better or
worse, by how much.

A prediction of nlu_fallback counts as out_of_scope (PRODUCT.md allows it) and as
wrong for every other intent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import os
import random
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.i18n import LANGUAGES
from bot.nlu.examples import normalize
from bot.templating import render

SEED = 42
CHANGE_THRESHOLD = 0.01  # smaller F1 moves are not listed as changes
Scores = dict[str, Any]


def load_examples(path: Path) -> list[Any]:
    """Rasa Messages with `intent` and `text` from a file or every *.yml in a folder."""
    from rasa.shared.nlu.training_data.loading import load_data

    files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
    examples: list[Any] = []
    for file in files:
        examples.extend(load_data(str(file)).intent_examples)
    return examples


def _fallback_as_out_of_scope(gold: list[str], predicted: list[str]) -> list[str]:
    return [
        "out_of_scope" if p == "nlu_fallback" and g == "out_of_scope" else p
        for g, p in zip(gold, predicted, strict=True)
    ]


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    from sklearn.metrics import f1_score

    predicted = _fallback_as_out_of_scope(gold, predicted)
    return float(
        f1_score(gold, predicted, labels=sorted(set(gold)), average="macro", zero_division=0)
    )


def per_intent(gold: list[str], predicted: list[str]) -> dict[str, dict[str, float]]:
    from sklearn.metrics import precision_recall_fscore_support

    predicted = _fallback_as_out_of_scope(gold, predicted)
    labels = sorted(set(gold))
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0
    )
    return {
        label: {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }


def stratified_folds(tagged: list[tuple[str, Any]], folds: int) -> list[list[tuple[str, Any]]]:
    """Folds with every (language, intent) spread evenly; the same split every run."""
    by_class: dict[tuple[str, str], list] = defaultdict(list)
    for lang, message in tagged:
        by_class[(lang, message.get("intent"))].append((lang, message))
    rng = random.Random(SEED)
    result: list[list] = [[] for _ in range(folds)]
    for key in sorted(by_class):
        items = by_class[key]
        rng.shuffle(items)
        for i, item in enumerate(items):
            result[i % folds].append(item)
    return result


def _nlu_part_of(domain: Path) -> str:
    """What an NLU model depends on in the domain: its intents and entities, not texts."""
    import yaml

    content = yaml.safe_load(domain.read_text("utf-8")) or {}
    return json.dumps(
        {key: content.get(key) for key in ("intents", "entities")}, sort_keys=True, default=str
    )


def train_model(config: Path, domain: Path, examples: list[Any], cache: Path, name: str) -> Path:
    """A model for these examples, from the cache when config, domain and data match."""
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = RasaYAMLWriter().dumps(TrainingData(examples))
    key = hashlib.sha256(
        "\0".join((config.read_text("utf-8"), _nlu_part_of(domain), data)).encode()
    ).hexdigest()[:24]
    model = cache / f"{name}-{key}.tar.gz"
    if model.exists():
        return model
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data_file = Path(tmp) / "nlu.yml"
        data_file.write_text(data, encoding="utf-8")
        trained = train_nlu(
            str(config), str(data_file), tmp, fixed_model_name="model", domain=str(domain)
        )
        if not trained:
            raise RuntimeError(f"training {name} failed")
        os.replace(trained, model)
    # Only this name's older models: "before" must not take "before-today" with it.
    for stale in cache.glob(f"{name}-*.tar.gz"):
        if stale != model and re.fullmatch(
            rf"{re.escape(name)}-[0-9a-f]{{24}}\.tar\.gz", stale.name
        ):
            stale.unlink()
    return model


_loaded: dict[str, Any] = {}


def _agent(model: Path) -> Any:
    """The model's agent; the last one loaded is kept (loading takes seconds)."""
    from rasa.core.agent import Agent

    from bot.nlu.fast_loading import install_fast_model_loading

    key = str(model)
    if key not in _loaded:
        import logging

        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)  # not a debug line per message parsed
        install_fast_model_loading()
        _loaded.clear()
        _loaded[key] = Agent.load(key)
    return _loaded[key]


def parse(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    """What the model makes of each text: intent, ranking, entities."""
    agent = _agent(model)

    async def run() -> list[dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(run())


def predict(model: Path, texts: list[str]) -> list[str]:
    return [result["intent"]["name"] for result in parse(model, texts)]


@dataclass
class Report:
    """What `bot nlu report` measured, and what changed since the previous report."""

    created: str
    counts: dict[str, dict[str, int]]
    held_out: dict[str, Scores]
    cross_validation: dict[str, Scores]
    errors: dict[str, list[dict[str, str]]]
    changes: list[dict[str, Any]] = field(default_factory=list)
    out: Path | None = None
    first: bool = True

    def held_out_macro_f1(self) -> dict[str, float]:
        return {lang: scores["macro_f1"] for lang, scores in self.held_out.items()}

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "counts": self.counts,
            "held_out": self.held_out,
            "cross_validation": self.cross_validation,
            "errors": self.errors,
            "changes": self.changes,
        }

    def summary(self) -> str:
        lines = ["language  held-out macro-F1  cross-validation macro-F1"]
        for lang in LANGUAGES:
            cv = self.cross_validation.get(lang, {}).get("macro_f1")
            cv_text = f"{cv:.3f}" if cv is not None else "not run"
            lines.append(f"{lang:<9} {self.held_out[lang]['macro_f1']:<18.3f} {cv_text}")
        if self.changes:
            lines.append("changed since the previous report:")
            lines.extend(f"  {_change_text(c)}" for c in self.changes)
        else:
            lines.append(
                "this is the first report" if self.first else "no change since the previous report"
            )
        if self.out:
            lines.append(f"report: {self.out / 'report.html'}")
        return "\n".join(line for line in lines if line)


def _change_text(change: dict[str, Any]) -> str:
    word = "better" if change["delta"] > 0 else "worse"
    return (
        f"{change['lang']} {change['set']} {change['intent']}: {word} by "
        f"{abs(change['delta']):.3f} ({change['before']:.3f} -> {change['after']:.3f})"
    )


def compare(previous: dict[str, Any] | None, report: Report) -> list[dict[str, Any]]:
    """Intents whose F1 moved by at least CHANGE_THRESHOLD, the biggest moves first."""
    if not previous:
        return []
    changes = []
    for name, current in (
        ("held_out", report.held_out),
        ("cross_validation", report.cross_validation),
    ):
        for lang, scores in current.items():
            before = (previous.get(name) or {}).get(lang) or {}
            rows = [("(macro)", before.get("macro_f1"), scores["macro_f1"])]
            rows += [
                (intent, (before.get("per_intent") or {}).get(intent, {}).get("f1"), now["f1"])
                for intent, now in scores["per_intent"].items()
            ]
            for intent, old, new in rows:
                if old is not None and abs(new - old) >= CHANGE_THRESHOLD:
                    changes.append(
                        {
                            "lang": lang,
                            "set": name.replace("_", "-"),
                            "intent": intent,
                            "before": old,
                            "after": new,
                            "delta": round(new - old, 4),
                        }
                    )
    return sorted(changes, key=lambda c: -abs(c["delta"]))


def _scores(gold: list[str], predicted: list[str]) -> Scores:
    return {
        "macro_f1": round(macro_f1(gold, predicted), 4),
        "per_intent": per_intent(gold, predicted),
        "n": len(gold),
    }


def run_report(project: Path, config: Path, out: Path, folds: int = 5) -> Report:
    """Trains what is needed, evaluates, writes the report files; returns the report."""
    from tqdm import tqdm

    logging.getLogger("rasa").setLevel(logging.WARNING)
    domain = project / "domain.yml"
    training = {lang: load_examples(project / "data" / "nlu" / lang) for lang in LANGUAGES}
    tests = {
        lang: load_examples(project / "data" / "test" / f"nlu_{lang}.yml") for lang in LANGUAGES
    }
    every = [m for lang in LANGUAGES for m in training[lang]]
    # Short phrases ("yes", "你好") occur in both sets by nature: not scored.
    trained_texts = {normalize(m.get("text")) for m in every}
    scored = {
        lang: [m for m in tests[lang] if normalize(m.get("text")) not in trained_texts]
        for lang in LANGUAGES
    }
    counts = {
        lang: {
            "training": len(training[lang]),
            "held_out_scored": len(scored[lang]),
            "held_out_skipped": len(tests[lang]) - len(scored[lang]),
        }
        for lang in LANGUAGES
    }
    cache = project / ".cache" / "nlu-report"
    tagged = [(lang, m) for lang in LANGUAGES for m in training[lang]]
    split = stratified_folds(tagged, folds) if folds >= 2 else []

    jobs = 1 + len(split)
    held_out: dict[str, Scores] = {}
    errors: dict[str, list[dict[str, str]]] = {}
    gold_cv: dict[str, list[str]] = defaultdict(list)
    pred_cv: dict[str, list[str]] = defaultdict(list)
    confusion_data: dict[str, tuple[list[str], list[str]]] = {}
    with tqdm(total=jobs * 2, desc="nlu report", unit="step") as progress:
        progress.set_postfix_str("training on all data")
        model = train_model(config, domain, every, cache, "all")
        progress.update()
        progress.set_postfix_str("held-out predictions")
        # One model load for all three languages: loading costs more than predicting.
        everything = predict(model, [m.get("text") for lang in LANGUAGES for m in scored[lang]])
        start = 0
        for lang in LANGUAGES:
            gold = [m.get("intent") for m in scored[lang]]
            texts = [m.get("text") for m in scored[lang]]
            predicted = everything[start : start + len(texts)]
            start += len(texts)
            held_out[lang] = _scores(gold, predicted)
            confusion_data[lang] = (gold, _fallback_as_out_of_scope(gold, predicted))
            errors[lang] = [
                {"text": t, "expected": g, "predicted": p}
                for t, g, p in zip(texts, gold, predicted, strict=True)
                if p != g and not (g == "out_of_scope" and p == "nlu_fallback")
            ]
        progress.update()
        for k, fold in enumerate(split):
            progress.set_postfix_str(f"cross-validation fold {k + 1}/{len(split)}")
            rest = [m for j, f in enumerate(split) if j != k for _, m in f]
            fold_model = train_model(config, domain, rest, cache, f"fold{k + 1}of{len(split)}")
            progress.update()
            predicted = predict(fold_model, [m.get("text") for _, m in fold])
            for (lang, message), p in zip(fold, predicted, strict=True):
                gold_cv[lang].append(message.get("intent"))
                pred_cv[lang].append(p)
            progress.update()
    cross_validation = {lang: _scores(gold_cv[lang], pred_cv[lang]) for lang in gold_cv}

    report = Report(
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        counts=counts,
        held_out=held_out,
        cross_validation=cross_validation,
        errors=errors,
        out=out,
    )
    out.mkdir(parents=True, exist_ok=True)
    previous_file = out / "report.json"
    previous = json.loads(previous_file.read_text("utf-8")) if previous_file.exists() else None
    report.changes = compare(previous, report)
    report.first = previous is None
    if previous is not None:
        (out / "previous.json").write_text(json.dumps(previous, indent=2), encoding="utf-8")
    for lang, (gold, predicted) in confusion_data.items():
        confusion_png(gold, predicted, out / f"confusion_{lang}.png", lang)
    previous_file.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False), "utf-8")
    (out / "report.html").write_text(_html(report, previous is not None), encoding="utf-8")
    return report


def confusion_png(
    gold: list[str], predicted: list[str], path: Path, lang: str, title: str = ""
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = sorted(set(gold) | set(predicted))
    matrix = confusion_matrix(gold, predicted, labels=labels)
    size = max(6.0, 0.45 * len(labels) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels=labels, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(range(len(labels)), labels=labels, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("expected")
    axes.set_title(title or f"held-out confusion matrix: {lang}")
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                colour = "white" if matrix[i, j] > matrix.max() / 2 else "black"
                axes.text(
                    j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7, color=colour
                )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _html(report: Report, had_previous: bool) -> str:
    changes = [
        ("better" if change["delta"] > 0 else "worse", _change_text(change))
        for change in report.changes
    ]
    return render(
        "nlu/report.html",
        report=report,
        languages=LANGUAGES,
        changes=changes,
        had_previous=had_previous,
    )
