"""Fetches rasa-webchat's prebuilt bundle for the tests, pinned by its lock file.

The lock (tests/webchat/rasa-webchat.lock.json) names the version and the sha512
integrity of its tarball. `npm pack NAME@VERSION` downloads that tarball from the
npm registry (the ordinary client, its configured registry); unless its sha512
equals the lock's, nothing is kept. Only the bundle is extracted, to
tests/webchat/node_modules/rasa-webchat/lib/index.js (what `make webchat` builds).
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "tests" / "webchat" / "rasa-webchat.lock.json"
TARGET = ROOT / "tests" / "webchat" / "node_modules" / "rasa-webchat" / "lib" / "index.js"


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def main() -> int:
    lock = json.loads(LOCK.read_text(encoding="utf-8"))
    spec = f"{lock['name']}@{lock['version']}"
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            ["npm", "pack", spec, "--pack-destination", scratch, "--loglevel=error"],
            check=True,
            cwd=scratch,
            stdout=subprocess.DEVNULL,
        )
        (tarball,) = Path(scratch).glob("*.tgz")
        data = tarball.read_bytes()
        if integrity(data) != lock["integrity"]:
            print(
                f"{spec}: the registry's tarball does not match the lock's integrity",
                file=sys.stderr,
            )
            return 1
        with tarfile.open(tarball) as archive:
            member = archive.extractfile(lock["bundle"])
            if member is None:
                print(f"{spec}: no {lock['bundle']} in the tarball", file=sys.stderr)
                return 1
            bundle = member.read()
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(bundle)
    print(f"{spec}: {lock['bundle']} ({len(bundle):,} bytes) -> {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
