"""Measures intent quality per language and writes docs/benchmarks.md.

1. The public evaluation sets in ../shared/eval (customers' language that nobody on
   this project wrote): accuracy, macro-F1, in-scope recall and out-of-scope
   precision per set, for this project's pipeline, for the pipeline as it was at
   c722b72 (bench/c722b72_config.yml) on today's data and on its own data, and for
   the pipeline `rasa init` writes (bench/baseline_config.yml) on today's data.
2. The held-out sets data/test/nlu_{en,lv,zh}.yml: macro-F1 per language, for the
   same pipelines.
3. 5-fold cross-validation of this project's pipeline on the training data.
4. A confusion picture per language over the public sets: docs/nlu/confusion_<lang>.png.

A prediction of nlu_fallback counts as out_of_scope (PRODUCT.md allows it) and as
wrong for every other intent. Models are cached under .cache/nlu-eval/ by config,
domain and data, so a second run only predicts. Run: make eval
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.i18n import fold_diacritics  # noqa: E402
from bot.nlu.examples import normalize  # noqa: E402
from bot.nlu.overlap import public_eval_dir, public_eval_examples  # noqa: E402
from bot.nlu.report import (  # noqa: E402
    confusion_png,
    load_examples,
    macro_f1,
    predict,
    stratified_folds,
    train_model,
)
from bot.ops.benchmarks import write_section  # noqa: E402

LANGUAGES = ("en", "lv", "zh")
FOLDS = 5
OUT_OF_SCOPE = {"out_of_scope", "nlu_fallback"}
BEFORE = "c722b72"
PIPELINES = {
    "ours": ("this project's pipeline", "config.yml", "today"),
    "before-today": (f"as at {BEFORE}, today's data", "bench/c722b72_config.yml", "today"),
    "before": (f"as at {BEFORE}, its own data", "bench/c722b72_config.yml", BEFORE),
    "baseline": ("`rasa init` pipeline, today's data", "bench/baseline_config.yml", "today"),
}


def set_language(name: str) -> str:
    return name.rsplit("_", 1)[-1]


def scores(gold: list[str], predicted: list[str]) -> dict[str, float]:
    """Accuracy, macro-F1, in-scope recall and out-of-scope precision and recall."""
    as_oos = ["out_of_scope" if p in OUT_OF_SCOPE else p for p in predicted]
    pairs = list(zip(gold, as_oos, strict=True))
    in_scope = [(g, p) for g, p in pairs if g != "out_of_scope"]
    said_oos = [(g, p) for g, p in pairs if p == "out_of_scope"]
    gold_oos = [(g, p) for g, p in pairs if g == "out_of_scope"]

    def share(rows: list[tuple[str, str]], hit: Any) -> float:
        return sum(hit(g, p) for g, p in rows) / len(rows) if rows else float("nan")

    return {
        "n": len(pairs),
        "accuracy": share(pairs, lambda g, p: g == p),
        "macro_f1": macro_f1(gold, predicted),
        "in_scope_recall": share(in_scope, lambda g, p: g == p),
        "oos_precision": share(said_oos, lambda g, p: g == "out_of_scope"),
        "oos_recall": share(gold_oos, lambda g, p: p == "out_of_scope"),
    }


def before_examples(workdir: Path) -> list[Any]:
    """The training data as it was at c722b72, from git."""
    listing = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", BEFORE, "data/nlu"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    examples: list[Any] = []
    for name in listing:
        content = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{BEFORE}:{name}"],
            capture_output=True,
            check=True,
        ).stdout
        path = workdir / name.replace("/", "_")
        path.write_bytes(content)
        examples.extend(load_examples(path))
    return examples


def cell(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--pipelines", default=",".join(PIPELINES))
    parser.add_argument("--skip-cv", action="store_true", help="no cross-validation")
    args = parser.parse_args()
    chosen = [p for p in args.pipelines.split(",") if p]
    cache = ROOT / ".cache" / "nlu-eval"

    training = [m for lang in LANGUAGES for m in load_examples(ROOT / "data" / "nlu" / lang)]
    trained = {normalize(m.get("text")) for m in training}
    held_out = {
        lang: [
            m
            for m in load_examples(ROOT / "data" / "test" / f"nlu_{lang}.yml")
            if normalize(m.get("text")) not in trained
        ]
        for lang in LANGUAGES
    }
    public: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, intent, text in public_eval_examples():
        public[name].append((intent, text))
    if not public:
        print(f"no public evaluation sets in {public_eval_dir()}: only held-out scores")
    started = time.monotonic()

    results: dict[str, dict[str, dict[str, float]]] = {}
    predictions: dict[str, dict[str, list[str]]] = {}
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_for = {"today": training}
        if any(PIPELINES[p][2] == BEFORE for p in chosen):
            data_for[BEFORE] = before_examples(Path(tmp))
        for key in chosen:
            label, config, data = PIPELINES[key]
            print(f"{label}: training", flush=True)
            began = time.monotonic()
            model = train_model(ROOT / config, ROOT / "domain.yml", data_for[data], cache, key)
            timings[key] = time.monotonic() - began
            results[key], predictions[key] = {}, {}
            for name, rows in sorted(public.items()):
                predicted = predict(model, [t for _, t in rows])
                predictions[key][name] = predicted
                results[key][name] = scores([g for g, _ in rows], predicted)
            for lang in LANGUAGES:
                rows = [(m.get("intent"), m.get("text")) for m in held_out[lang]]
                predicted = predict(model, [t for _, t in rows])
                results[key][f"held-out {lang}"] = scores([g for g, _ in rows], predicted)
                if lang == "lv":
                    plain = predict(model, [fold_diacritics(t) for _, t in rows])
                    results[key]["held-out lv, no diacritics"] = scores([g for g, _ in rows], plain)
            print(f"  done in {time.monotonic() - began:.0f} s", flush=True)

        cv: dict[str, float] = {}
        if "ours" in chosen and not args.skip_cv:
            tagged = [
                (lang, m) for lang in LANGUAGES for m in load_examples(ROOT / "data" / "nlu" / lang)
            ]
            folds = stratified_folds(tagged, FOLDS)
            gold: dict[str, list[str]] = defaultdict(list)
            pred: dict[str, list[str]] = defaultdict(list)
            for k, fold in enumerate(folds):
                print(f"cross-validation fold {k + 1}/{FOLDS}", flush=True)
                rest = [m for j, f in enumerate(folds) if j != k for _, m in f]
                model = train_model(
                    ROOT / "config.yml", ROOT / "domain.yml", rest, cache, f"fold{k}"
                )
                for (lang, message), p in zip(
                    fold, predict(model, [m.get("text") for _, m in fold]), strict=True
                ):
                    gold[lang].append(message.get("intent"))
                    pred[lang].append(p)
            cv = {lang: macro_f1(gold[lang], pred[lang]) for lang in LANGUAGES}

    pictures = ROOT / "docs" / "nlu"
    if "ours" in chosen and public:
        pictures.mkdir(parents=True, exist_ok=True)
        for lang in LANGUAGES:
            names = [n for n in sorted(public) if set_language(n) == lang]
            gold_all = [g for n in names for g, _ in public[n]]
            pred_all = [p for n in names for p in predictions["ours"][n]]
            if gold_all:
                pred_all = ["out_of_scope" if p == "nlu_fallback" else p for p in pred_all]
                confusion_png(
                    gold_all,
                    pred_all,
                    pictures / f"confusion_{lang}.png",
                    lang,
                    f"public sets, {lang} ({', '.join(names)}): this project's pipeline",
                )

    minutes = (time.monotonic() - started) / 60
    command = "make eval` (`python scripts/evaluate_nlu.py --out docs/benchmarks.md"
    if chosen != list(PIPELINES) or args.skip_cv:
        command = "python scripts/evaluate_nlu.py --pipelines " + ",".join(chosen)
        command += " --skip-cv" if args.skip_cv else ""
    lines = [
        "## NLU intent quality per language",
        "",
        f"Measured {dt.date.today().isoformat()} with `{command}`, "
        f"{minutes:.0f} minutes on {os.cpu_count()} CPU cores, Python "
        f"{platform.python_version()}. Training examples: "
        + ", ".join(
            f"{lang} {len(load_examples(ROOT / 'data' / 'nlu' / lang))}" for lang in LANGUAGES
        )
        + ". A prediction of nlu_fallback counts as out_of_scope, and as wrong for any "
        "other intent. In-scope recall: the share of messages with one of our intents "
        "that got exactly that intent; out-of-scope precision: the share of messages the "
        "model called out of scope (or did not understand) that were out of scope.",
        "",
        "Pipelines: " + "; ".join(f"**{k}**: {PIPELINES[k][0]}" for k in chosen) + ".",
        "",
        "| set | n | pipeline | accuracy | macro-F1 | in-scope recall | out-of-scope precision |",
        "|---|---|---|---|---|---|---|",
    ]
    sets = [*sorted(public), *[f"held-out {lang}" for lang in LANGUAGES]]
    sets.append("held-out lv, no diacritics")
    for name in sets:
        for key in chosen:
            r = results[key].get(name)
            if r:
                lines.append(
                    f"| {name} | {r['n']} | {key} | {cell(r['accuracy'])} | "
                    f"{cell(r['macro_f1'])} | {cell(r['in_scope_recall'])} | "
                    f"{cell(r['oos_precision'])} |"
                )
    if cv:
        lines += [
            "",
            "5-fold cross-validation of this project's pipeline on its training data "
            "(macro-F1): " + ", ".join(f"{lang} {cv[lang]:.3f}" for lang in LANGUAGES) + ".",
        ]
    lines += [
        "",
        "Training time of each pipeline on this run (0 s: the model was cached): "
        + ", ".join(f"{k} {timings[k]:.0f} s" for k in chosen)
        + ".",
    ]
    if "ours" in chosen and public:
        lines += [
            "",
            "Confusion pictures over the public sets: "
            + ", ".join(f"[{lang}](nlu/confusion_{lang}.png)" for lang in LANGUAGES)
            + ".",
        ]
    write_section(Path(args.out), "nlu", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
