"""Measures intent quality per language and writes docs/benchmarks.md.

1. 5-fold cross-validation on the training data (data/nlu): each fold trains on
   four fifths of all three languages and predicts the fifth; macro-F1 is then
   computed per language over the pooled predictions.
2. Held-out sets data/test/nlu_{en,lv,zh}.yml, never used for training.
3. The same held-out score for the pipeline `rasa init` writes (bench/baseline_config.yml).

A prediction of nlu_fallback counts as out_of_scope (PRODUCT.md allows it) and as
wrong for every other intent. Run: make eval
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from rasa.shared.nlu.training_data.message import Message  # noqa: E402

from bot.benchmarks import write_section  # noqa: E402
from bot.i18n import fold_diacritics  # noqa: E402
from bot.nlu_data import normalize as normalized  # noqa: E402
from bot.nlu_report import load_examples as load_language  # noqa: E402
from bot.nlu_report import macro_f1 as score  # noqa: E402
from bot.nlu_report import predict, stratified_folds, train_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "lv", "zh")
FOLDS = 5


def train(config: Path, examples: list[Message], workdir: Path, name: str) -> Path:
    started = time.monotonic()
    model = train_model(config, ROOT / "domain.yml", examples, workdir, name)
    print(f"  trained {name} in {time.monotonic() - started:.0f} s", flush=True)
    return model


def held_out(config: Path, training: list[Message], tests: dict, workdir: Path, name: str):
    """Held-out scores per language, plus Latvian retyped without diacritics ("lv-plain")."""
    model = train(config, training, workdir, name)
    scores, errors = {}, {}
    lv = tests["lv"]
    plain = [fold_diacritics(m.get("text")) for m in lv]
    scores["lv-plain"] = score([m.get("intent") for m in lv], predict(model, plain))
    for lang, examples in tests.items():
        gold = [m.get("intent") for m in examples]
        texts = [m.get("text") for m in examples]
        predicted = predict(model, texts)
        scores[lang] = score(gold, predicted)
        errors[lang] = [
            (t, g, p)
            for t, g, p in zip(texts, gold, predicted, strict=True)
            if p != g and not (g == "out_of_scope" and p == "nlu_fallback")
        ]
    return scores, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    parser.add_argument("--baseline", default=str(ROOT / "bench" / "baseline_config.yml"))
    parser.add_argument("--skip-cv", action="store_true", help="held-out scores only")
    args = parser.parse_args()

    train_sets = {lang: load_language(ROOT / "data" / "nlu" / lang) for lang in LANGUAGES}
    tests = {lang: load_language(ROOT / "data" / "test" / f"nlu_{lang}.yml") for lang in LANGUAGES}
    training = [m for lang in LANGUAGES for m in train_sets[lang]]
    # Short phrases ("yes", "你好") occur in both sets by nature; they are not scored.
    trained = {normalized(m.get("text")) for m in training}
    shared = {
        lang: sum(normalized(m.get("text")) in trained for m in tests[lang]) for lang in LANGUAGES
    }
    tests = {
        lang: [m for m in tests[lang] if normalized(m.get("text")) not in trained]
        for lang in LANGUAGES
    }
    started = time.monotonic()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print("held-out: this project's pipeline", flush=True)
        ours, our_errors = held_out(Path(args.config), training, tests, workdir, "ours")
        print("held-out: the rasa init baseline", flush=True)
        base, _ = held_out(Path(args.baseline), training, tests, workdir, "baseline")

        cv: dict[str, float] = {}
        if not args.skip_cv:
            tagged = [(lang, m) for lang in LANGUAGES for m in train_sets[lang]]
            folds = stratified_folds(tagged, FOLDS)
            gold: dict[str, list[str]] = defaultdict(list)
            pred: dict[str, list[str]] = defaultdict(list)
            for k, fold in enumerate(folds):
                print(f"cross-validation fold {k + 1}/{FOLDS}", flush=True)
                rest = [m for j, f in enumerate(folds) if j != k for _, m in f]
                model = train(Path(args.config), rest, workdir, f"fold{k}")
                predicted = predict(model, [m.get("text") for _, m in fold])
                for (lang, message), p in zip(fold, predicted, strict=True):
                    gold[lang].append(message.get("intent"))
                    pred[lang].append(p)
            cv = {lang: score(gold[lang], pred[lang]) for lang in LANGUAGES}

    minutes = (time.monotonic() - started) / 60
    lines = [
        "## NLU intent quality per language",
        "",
        f"Measured {dt.date.today().isoformat()} with `make eval` "
        f"(`python scripts/evaluate_nlu.py --out docs/benchmarks.md`), "
        f"{minutes:.0f} minutes on {os.cpu_count()} CPU cores, Python {platform.python_version()}.",
        "",
        "Macro-F1 over intents. nlu_fallback counts as out_of_scope (PRODUCT.md allows it) "
        "and as an error for any other intent. Training examples per language: "
        + ", ".join(f"{lang} {len(train_sets[lang])}" for lang in LANGUAGES)
        + "; held-out, scored: "
        + ", ".join(f"{lang} {len(tests[lang])}" for lang in LANGUAGES)
        + " (not scored, because the same short text is also a training example: "
        + ", ".join(f"{lang} {shared[lang]}" for lang in LANGUAGES)
        + ").",
        "",
        "| language | 5-fold CV (training data) | held-out | held-out, `rasa init` baseline |",
        "|---|---|---|---|",
    ]
    for lang in LANGUAGES:
        cv_cell = f"{cv[lang]:.3f}" if lang in cv else "not run"
        lines.append(f"| {lang} | {cv_cell} | {ours[lang]:.3f} | {base[lang]:.3f} |")
    lines.append(
        f"| lv, the held-out set retyped without diacritics | | {ours['lv-plain']:.3f} "
        f"| {base['lv-plain']:.3f} |"
    )
    lines += ["", "Held-out examples this project's pipeline gets wrong:", ""]
    for lang in LANGUAGES:
        for text, gold_intent, predicted in our_errors[lang]:
            lines.append(f'- {lang}: "{text}": expected {gold_intent}, got {predicted}')
        if not our_errors[lang]:
            lines.append(f"- {lang}: none")
    write_section(Path(args.out), "nlu", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
