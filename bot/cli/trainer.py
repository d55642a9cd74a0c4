"""The trainers' commands: `bot nlu add|report`, `bot inbox ...`, `bot train`.

Exit codes scripts can rely on:
  0  done
  1  bad input (unreadable CSV, missing columns, unknown inbox item)
  4  some or all examples refused (the acceptable ones were added)
  5  Rasa's data validation failed: nothing was written
  6  a language's held-out macro-F1 is under --min-f1
  7  the model could not be loaded into the running server
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from bot.config import PROJECT_ROOT

EXIT_REFUSED = 4
EXIT_INVALID = 5
EXIT_BELOW_THRESHOLD = 6
EXIT_NOT_LOADED = 7


def _print_result(result: Any, as_json: bool, rows: bool = False) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "added": [
                        {"intent": e.intent, "lang": e.lang, "text": e.text, "file": f}
                        for e, f in result.added
                    ],
                    "refused": [
                        {
                            "row": r.row,
                            "intent": r.example.intent,
                            "lang": r.example.lang,
                            "text": r.example.text,
                            "code": r.code,
                            "message": r.message,
                        }
                        for r in result.refused
                    ],
                    "warnings": result.warnings,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for example, file in result.added:
        print(f"added {example.lang} {example.intent}: {example.text!r} -> {file}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for refusal in result.refused:
        where = f"row {refusal.row}: " if rows and refusal.row else ""
        print(f"refused {where}{refusal.example.text!r}: {refusal.message}", file=sys.stderr)


def _read_csv(path: str) -> list[Any]:
    from bot.nlu.examples import Example

    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"intent", "lang", "text"} - set(reader.fieldnames or [])
            if missing:
                raise ValueError(
                    f"{path} lacks the column(s) {', '.join(sorted(missing))}: it needs a "
                    "header row intent,lang,text, separated by commas"
                )
            rows = list(reader)
            # DictReader puts the fields past the header under None: an unquoted comma
            # in a text would otherwise cut it short without a word.
            split = [number for number, row in enumerate(rows, start=1) if None in row]
            if split:
                raise ValueError(
                    f"{path}: row(s) {', '.join(map(str, split))} have more columns than "
                    'the header; put a text that contains commas in double quotes ("...")'
                )
            return [
                Example(
                    (row.get("intent") or "").strip(),
                    (row.get("lang") or "").strip().lower(),
                    (row.get("text") or "").strip(),
                )
                for row in rows
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc


def _add_examples(project: Path, examples: list[Any], as_json: bool, rows: bool) -> int:
    from bot.nlu.examples import NluStore, ValidationFailed

    try:
        result = NluStore(project).add(examples)
    except ValidationFailed as exc:
        print(f"bot: {exc}; nothing was written", file=sys.stderr)
        return EXIT_INVALID
    _print_result(result, as_json, rows)
    return EXIT_REFUSED if result.refused else 0


def cmd_nlu_add(args: argparse.Namespace) -> int:
    from bot.nlu.examples import Example

    if bool(args.file) == bool(args.text):
        print("bot: give either TEXT with --intent and --lang, or --file", file=sys.stderr)
        return 1
    if args.file:
        try:
            examples = _read_csv(args.file)
        except ValueError as exc:
            print(f"bot: {exc}", file=sys.stderr)
            return 1
    else:
        if not (args.intent and args.lang):
            print("bot: --intent and --lang are needed with TEXT", file=sys.stderr)
            return 1
        examples = [Example(args.intent, args.lang.lower(), args.text.strip())]
    return _add_examples(Path(args.project), examples, args.json, rows=bool(args.file))


def cmd_nlu_report(args: argparse.Namespace) -> int:
    from bot.nlu.report import run_report

    project = Path(args.project)
    report = run_report(
        project,
        config=Path(args.config) if args.config else project / "config.yml",
        out=Path(args.out) if args.out else project / "reports" / "nlu",
        folds=args.folds,
    )
    print(report.summary())
    below = {
        lang: score
        for lang, score in report.held_out_macro_f1().items()
        if args.min_f1 is not None and score < args.min_f1
    }
    if below:
        listed = ", ".join(f"{lang} {score:.3f}" for lang, score in sorted(below.items()))
        print(f"bot: held-out macro-F1 under {args.min_f1}: {listed}", file=sys.stderr)
        return EXIT_BELOW_THRESHOLD
    return 0


def cmd_inbox_list(args: argparse.Namespace) -> int:
    from bot.db import app_engine, session_scope
    from bot.migrations.runner import ensure_current
    from bot.nlu.inbox import item_view, list_items

    engine = app_engine()
    ensure_current(engine)
    with session_scope(engine) as session:
        items = [item_view(i) for i in list_items(session, args.lang, include_done=args.all)]
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    if not items:
        print("the inbox is empty")
    for item in items:
        confidence = f"{item['confidence']:.2f}" if item["confidence"] is not None else "-"
        print(
            f"{item['id']:>5}  {item['language'] or '??'}  {item['reason']:<14} "
            f"{item['predicted_intent'] or '-':<18} {confidence:>5}  {item['text']}"
        )
    return 0


def cmd_inbox_label(args: argparse.Namespace) -> int:
    from bot.db import app_engine, session_scope
    from bot.errors import NotFound
    from bot.nlu.inbox import label_item

    try:
        with session_scope(app_engine()) as session:
            outcome = label_item(session, args.id, args.intent, Path(args.project), args.lang)
    except NotFound as exc:
        print(f"bot: {exc}", file=sys.stderr)
        return 1
    _print_result(outcome.result, args.json)
    if outcome.invalid:
        print(f"bot: {outcome.invalid}; nothing was written", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_REFUSED if outcome.result.refused else 0


def cmd_inbox_dismiss(args: argparse.Namespace) -> int:
    from bot.db import app_engine, session_scope
    from bot.errors import NotFound
    from bot.nlu.inbox import dismiss_item

    try:
        with session_scope(app_engine()) as session:
            dismiss_item(session, args.id)
    except NotFound as exc:
        print(f"bot: {exc}", file=sys.stderr)
        return 1
    print(f"dismissed {args.id}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import subprocess

    from bot.nlu.training import load_into_server, train_if_changed

    try:
        model, trained = train_if_changed(Path(args.project))
    except subprocess.CalledProcessError:
        print("bot: training failed (see Rasa's messages above)", file=sys.stderr)
        return 2
    print(f"{'trained' if trained else 'unchanged, kept'} {model}")
    if args.no_load or not (trained or args.reload):
        return 0
    try:
        load_into_server(args.url, model)
    except OSError as exc:
        print(f"bot: could not load the model into {args.url}: {exc}", file=sys.stderr)
        return EXIT_NOT_LOADED
    print(f"loaded into {args.url}; conversations in progress carry on")
    return 0


def register(commands: Any) -> None:
    """Adds the trainers' commands to the `bot` parser."""
    project = argparse.ArgumentParser(add_help=False)
    project.add_argument(
        "--project", default=str(PROJECT_ROOT), help="the bot's folder (default: this one)"
    )

    nlu = commands.add_parser("nlu", help="NLU training data and quality")
    nlu_commands = nlu.add_subparsers(dest="nlu", required=True)
    add = nlu_commands.add_parser("add", parents=[project], help="add training examples")
    add.add_argument("text", nargs="?", help="the example, e.g. 'mana karte nestrādā'")
    add.add_argument("--intent")
    add.add_argument("--lang", help="en, lv or zh")
    add.add_argument("--file", help="a CSV file with the columns intent, lang, text")
    add.add_argument("--json", action="store_true", help="print the outcome as JSON")
    add.set_defaults(func=cmd_nlu_add)

    report = nlu_commands.add_parser(
        "report", parents=[project], help="precision, recall and F1 per language and intent"
    )
    report.add_argument("--config", help="pipeline (default: the project's config.yml)")
    report.add_argument("--out", help="folder for the report (default: reports/nlu)")
    report.add_argument("--folds", type=int, default=5, help="cross-validation folds; 0 skips")
    report.add_argument("--min-f1", type=float, help="exit 6 if a language's held-out F1 is lower")
    report.set_defaults(func=cmd_nlu_report)

    inbox = commands.add_parser("inbox", help="messages the bot did not understand well")
    inbox_commands = inbox.add_subparsers(dest="inbox", required=True)
    listing = inbox_commands.add_parser("list", help="open items, newest first")
    listing.add_argument("--lang", choices=["en", "lv", "zh"])
    listing.add_argument("--all", action="store_true", help="also labelled and dismissed ones")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_inbox_list)
    label = inbox_commands.add_parser(
        "label", parents=[project], help="file an item as a training example of INTENT"
    )
    label.add_argument("id", type=int)
    label.add_argument("intent")
    label.add_argument("--lang", choices=["en", "lv", "zh"], help="when the item has none")
    label.add_argument("--json", action="store_true")
    label.set_defaults(func=cmd_inbox_label)
    dismiss = inbox_commands.add_parser("dismiss", help="drop an item")
    dismiss.add_argument("id", type=int)
    dismiss.set_defaults(func=cmd_inbox_dismiss)

    train = commands.add_parser(
        "train", parents=[project], help="retrain if the data changed; load into the server"
    )
    train.add_argument("--url", default="http://127.0.0.1:5005", help="the running Rasa server")
    train.add_argument(
        "--reload", action="store_true", help="load the model even when nothing changed"
    )
    train.add_argument("--no-load", action="store_true", help="only train, load nothing")
    train.set_defaults(func=cmd_train)
