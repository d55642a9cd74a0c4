"""Chooses the fallback threshold per language from measured precision and recall.

5-fold cross-validation on the training data (the same folds and cached models as
`make eval`): every example is predicted by a model that did not see it. For each
language and each candidate threshold, a message whose top confidence is below it
becomes nlu_fallback; the table gives in-scope recall (messages with one of our
intents that keep exactly that intent), out-of-scope precision and recall
(nlu_fallback counted as out of scope) and macro-F1. The threshold chosen per
language is the highest one whose macro-F1 is within TOLERANCE of the best: below
that, differences are noise of a 5-fold split, and when unsure, asking the customer
to rephrase (with buttons for what the bot can do) costs less than acting on a wrong
intent. It goes into config.yml by hand, with the table in docs/nlu-design.md. The
public evaluation sets are not used here: a threshold tuned on them would flatter
their scores. The fold models are trained with every threshold at 0 (the table
reads the classifier's own confidence), so changing thresholds retrains nothing.

    python scripts/choose_thresholds.py [--out docs/nlu-design.md]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlu.report import load_examples, macro_f1, parse, stratified_folds, train_model  # noqa: E402
from bot.ops.benchmarks import write_section  # noqa: E402
from scripts.evaluate_nlu import FOLDS, LANGUAGES, scores  # noqa: E402

CANDIDATES = [0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7]
TOLERANCE = 0.002


def classifier_top(result: dict[str, Any]) -> tuple[str, float]:
    """The classifier's own best guess and confidence, under any fallback."""
    ranking = [r for r in result.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
    if result["intent"]["name"] == "nlu_fallback" and result["intent"]["confidence"] >= 1.0:
        return "nlu_fallback", 1.0  # UnknownWordsFallback: no word was ever seen
    if not ranking:
        return result["intent"]["name"], float(result["intent"]["confidence"])
    return ranking[0]["name"], float(ranking[0]["confidence"])


def unthresholded_config(cache: Path) -> Path:
    """config.yml with every fallback threshold at 0: the classifier's own confidence."""
    import yaml

    config = yaml.safe_load((ROOT / "config.yml").read_text("utf-8"))
    for component in config["pipeline"]:
        if component["name"].endswith("LanguageFallbackClassifier"):
            component["threshold"] = 0.0
            component["ambiguity_threshold"] = 0.0
            component["language_thresholds"] = {}
    path = cache / "config-without-thresholds.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "nlu-design.md"))
    args = parser.parse_args()
    cache = ROOT / ".cache" / "nlu-eval"
    config = unthresholded_config(cache)
    tagged = [(lang, m) for lang in LANGUAGES for m in load_examples(ROOT / "data" / "nlu" / lang)]
    folds = stratified_folds(tagged, FOLDS)
    rows: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for k, fold in enumerate(folds):
        print(f"fold {k + 1}/{FOLDS}", flush=True)
        rest = [m for j, f in enumerate(folds) if j != k for _, m in f]
        model = train_model(config, ROOT / "domain.yml", rest, cache, f"threshold-fold{k}")
        for (lang, message), result in zip(
            fold, parse(model, [m.get("text") for _, m in fold]), strict=True
        ):
            intent, confidence = classifier_top(result)
            rows[lang].append((message.get("intent"), intent, confidence))

    lines = [
        "## Fallback thresholds per language",
        "",
        "From `python scripts/choose_thresholds.py` (5-fold cross-validation on the training "
        "data; nlu_fallback counts as out of scope). Below the threshold a message is not "
        "understood (nlu_fallback). Chosen (bold): the highest threshold whose macro-F1 is "
        f"within {TOLERANCE} of the best; when unsure, asking to rephrase costs less than "
        "acting on a wrong intent.",
        "",
        "| language | threshold | in-scope recall | out-of-scope precision | "
        "out-of-scope recall | macro-F1 |",
        "|---|---|---|---|---|---|",
    ]
    chosen = {}
    for lang in LANGUAGES:
        table = []
        for threshold in CANDIDATES:
            gold = [g for g, _, _ in rows[lang]]
            predicted = [p if c >= threshold else "nlu_fallback" for _, p, c in rows[lang]]
            table.append((threshold, scores(gold, predicted), macro_f1(gold, predicted)))
        top = max(f1 for _, _, f1 in table)
        best = max(threshold for threshold, _, f1 in table if f1 >= top - TOLERANCE)
        chosen[lang] = best
        for threshold, measured, f1 in table:
            mark = "**" if threshold == best else ""
            lines.append(
                f"| {lang} | {mark}{threshold:.2f}{mark} | {measured['in_scope_recall']:.3f} | "
                f"{measured['oos_precision']:.3f} | {measured['oos_recall']:.3f} | {f1:.3f} |"
            )
    lines += [
        "",
        "Chosen: " + ", ".join(f"{lang} {chosen[lang]:.2f}" for lang in LANGUAGES) + ".",
    ]
    write_section(Path(args.out), "thresholds", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
