"""Writes training examples from the training splits of public datasets.

Only training splits, and only where the license allows it (README, "Training data
from public datasets"). Every text that is, once normalized (case, punctuation,
white space, diacritics, entity markup), a text of an evaluation set (../shared/eval,
data/test) or already an example of this project is left out; so is every label that
could mean two things here (CLINC150's `expiration_date`, BANKING77's
`card_not_working`, ...). The output is committed; this script documents how it was
made and makes it again from local copies of the repositories:

    python scripts/import_public_nlu.py --clinc PATH --banking77 PATH --ltec PATH

Each PATH is a git clone of the repository at the commit named in SOURCES.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlu.examples import normalize  # noqa: E402
from bot.nlu.overlap import evaluation_texts  # noqa: E402
from bot.nlu.report import load_examples  # noqa: E402

SEED = 7
SOURCES = {
    "clinc": (
        "clinc/oos-eval",
        "828f8093932c8fe6ca7936c3d2e52903b1c523de",
        "data/data_full.json (train, oos_train)",
        "CC BY 3.0",
        "Larson et al., An Evaluation Dataset for Intent Classification and "
        "Out-of-Scope Prediction, EMNLP 2019",
    ),
    "banking77": (
        "PolyAI-LDN/task-specific-datasets",
        "57ec275d8078af65b7731c2a98be812d844a6d6b",
        "banking_data/train.csv",
        "CC BY 4.0",
        "Casanueva et al., Efficient Intent Detection with Dual Sentence Encoders, 2020",
    ),
    "ltec": (
        "Usprogis/Latvian-Twitter-Eater-Corpus",
        "a264d72111b4cd88067545d32650319e109da6ac",
        "scripts/experiments/sentiment-analysis/experiment-data/train.{pos,neg,nei}",
        "MIT",
        "Sproģis and Rikters, What Can We Learn From Almost a Decade of Food Tweets, "
        "Baltic HLT 2020",
    ),
}

# CLINC150 intents that mean one of ours; the rest of its 150 are out of scope.
CLINC_INTENTS = {
    "greeting": "greet",
    "goodbye": "goodbye",
    "thank_you": "thank_you",
    "yes": "affirm",
    "no": "deny",
    "card_declined": "payment_declined",
    "pay_bill": "settle_balance",
    "cancel": "stop",
}
# Neither ours nor clearly something else: left out rather than taught wrongly.
CLINC_AMBIGUOUS = {
    "expiration_date", "bill_balance", "bill_due", "min_payment", "maybe", "new_card",
    "damaged_card", "account_blocked", "replacement_card_duration", "repeat",
}  # fmt: skip
CLINC_OUT_OF_SCOPE_PER_INTENT = 8

BANKING77_INTENTS = {
    "declined_card_payment": "payment_declined",
    "card_about_to_expire": "card_expired",
}
BANKING77_AMBIGUOUS = {
    "card_not_working", "contactless_not_working", "virtual_card_not_working",
    "declined_cash_withdrawal", "declined_transfer", "failed_transfer", "top_up_failed",
    "top_up_reverted", "pending_card_payment", "reverted_card_payment?",
    "card_payment_fee_charged", "transaction_charged_twice", "card_acceptance",
    "supported_cards_and_currencies", "visa_or_mastercard", "card_linking",
    "extra_charge_on_statement",
}  # fmt: skip
BANKING77_OUT_OF_SCOPE_PER_INTENT = 10

LTEC_EXAMPLES = 600
# Tweets about paying, cards, bills, banks or money are left out of "out of scope".
LTEC_BILLING = re.compile(
    r"(maks|kart|rēķin|rekin|parād|parad|bank|naud|eiro|€|apmaks|abonement)", re.IGNORECASE
)
LTEC_NOISE = re.compile(r"https?://\S+|@\w+|#")


def git_show(repository: Path, path: str) -> str:
    shown = subprocess.run(
        ["git", "-C", str(repository), "show", f"HEAD:{path}"],
        capture_output=True,
        check=True,
    )
    return shown.stdout.decode("utf-8")


def _sample(texts: list[str], count: int, rng: random.Random) -> list[str]:
    return rng.sample(texts, min(count, len(texts)))


def _mapped(
    rows: Iterable[tuple[str, str]],
    ours: dict[str, str],
    ambiguous: set[str],
    out_of_scope_per_intent: int,
) -> list[tuple[str, str]]:
    """(intent, text) rows: ours renamed, ambiguous left out, a sample of the rest."""
    rng = random.Random(SEED)
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in rows:
        by_intent[intent].append(text)
    examples = []
    for intent, texts in sorted(by_intent.items()):
        if intent in ambiguous:
            continue
        if intent in ours:
            examples += [(ours[intent], t) for t in texts]
        else:
            sample = _sample(texts, out_of_scope_per_intent, rng)
            examples += [("out_of_scope", t) for t in sample]
    return examples


def clinc(repository: Path) -> list[tuple[str, str]]:
    data = json.loads(git_show(repository, "data/data_full.json"))
    examples = _mapped(data["train"], CLINC_INTENTS, CLINC_AMBIGUOUS, CLINC_OUT_OF_SCOPE_PER_INTENT)
    return examples + [("out_of_scope", text) for text, _ in data["oos_train"]]


def banking77(repository: Path) -> list[tuple[str, str]]:
    rows = list(csv.reader(io.StringIO(git_show(repository, "banking_data/train.csv"))))[1:]
    return _mapped(rows, BANKING77_INTENTS, BANKING77_AMBIGUOUS, BANKING77_OUT_OF_SCOPE_PER_INTENT)


def ltec(repository: Path) -> list[tuple[str, str]]:
    folder = "scripts/experiments/sentiment-analysis/experiment-data"
    texts = set()
    for part in ("train.pos", "train.neg", "train.nei"):
        for line in git_show(repository, f"{folder}/{part}").splitlines():
            text = " ".join(LTEC_NOISE.sub(" ", line).split())
            if 3 <= len(text.split()) <= 25 and not LTEC_BILLING.search(text):
                texts.add(text)
    rng = random.Random(SEED)
    return [("out_of_scope", t) for t in _sample(sorted(texts), LTEC_EXAMPLES, rng)]


def _yaml_line(text: str) -> str:
    # Entity markup is not ours to guess in public text: brackets are escaped away.
    text = " ".join(text.replace("[", "(").replace("]", ")").split())
    return "    - " + text


def write(path: Path, name: str, examples: Iterable[tuple[str, str]]) -> int:
    repo, commit, files, license_name, citation = SOURCES[name]
    by_intent: dict[str, list[str]] = defaultdict(list)
    for intent, text in examples:
        by_intent[intent].append(text)
    lines = [
        f"# From {repo}@{commit}: {files}",
        f"# License: {license_name}. {citation}.",
        "# Written by scripts/import_public_nlu.py; training splits only, with every text",
        "# of ../shared/eval and data/test left out. Do not edit by hand.",
        'version: "3.1"',
        "nlu:",
    ]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [_yaml_line(t) for t in by_intent[intent]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sum(len(v) for v in by_intent.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinc", type=Path, required=True)
    parser.add_argument("--banking77", type=Path, required=True)
    parser.add_argument("--ltec", type=Path, required=True)
    args = parser.parse_args()

    outputs = {
        "clinc": ROOT / "data" / "nlu" / "en" / "public_clinc150.yml",
        "banking77": ROOT / "data" / "nlu" / "en" / "public_banking77.yml",
        "ltec": ROOT / "data" / "nlu" / "lv" / "public_ltec.yml",
    }
    readers = {"clinc": clinc, "banking77": banking77, "ltec": ltec}
    taken = set(evaluation_texts())
    own = {
        normalize(m.get("text"))
        for lang in ("en", "lv", "zh")
        for f in sorted((ROOT / "data" / "nlu" / lang).glob("*.yml"))
        if not f.name.startswith("public_")
        for m in load_examples(f)
    }
    for name, reader in readers.items():
        kept, seen = [], set()
        for intent, text in reader(getattr(args, name)):
            key = normalize(text)
            if not key or key in taken or key in own or key in seen:
                continue
            seen.add(key)
            kept.append((intent, text))
        count = write(outputs[name], name, kept)
        print(f"{outputs[name].relative_to(ROOT)}: {count} examples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
