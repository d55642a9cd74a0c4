"""The suite runs in a random order (pytest-randomly): its seed, and a fix for thinc.

pytest prints no header under -q, where pytest-randomly names its seed, so the
summary names it. `-p no:randomly` runs the tests in file order.
"""

from __future__ import annotations

from typing import Any

import pytest

SEED_LIMIT = 2**32


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("randomly"):
        _clamp_entry_point_reseeds()


def _clamp_entry_point_reseeds() -> None:
    """Hands the reseeders that packages register (thinc, with spaCy) a seed numpy takes.

    pytest-randomly 5.0.0 adds a per-test offset to the seed and passes the sum
    unclamped to them; thinc 8.1 gives it to `numpy.random.seed`, which refuses
    anything from 2**32 on, and the test errors at set-up (pytest-randomly#736).
    """
    from importlib.metadata import entry_points

    import pytest_randomly

    def clamped(reseed: Any) -> Any:
        return lambda seed: reseed(seed % SEED_LIMIT)

    pytest_randomly.entrypoint_reseeds = [
        clamped(point.load()) for point in entry_points(group="pytest_randomly.random_seeder")
    ]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("randomly") and config.getoption("randomly_reorganize"):
        seed = config.getoption("randomly_seed")
        terminalreporter.write_line(
            f"tests ran in random order: -p randomly --randomly-seed={seed} repeats it,"
            " -p no:randomly runs them in file order"
        )
