"""Each private training graph gets a DDS domain no other one on the machine holds: two
twins on one domain would drive each other's sim time through the absolute ``/clock``."""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from robot_rl.nodes.process import PRIVATE_DOMAINS, private_domain


def test_graphs_side_by_side_get_different_domains_and_give_them_back(tmp_path: Path) -> None:
    with private_domain(tmp_path) as first, private_domain(tmp_path) as second:
        assert first != second
        assert first in PRIVATE_DOMAINS and second in PRIVATE_DOMAINS
    with private_domain(tmp_path) as again:
        assert again == first  # released when the run ended


def test_a_domain_held_by_another_process_is_skipped(tmp_path: Path) -> None:
    hold = (
        "import sys, time; from robot_rl.nodes.process import private_domain\n"
        "with private_domain(sys.argv[1]) as d:\n"
        "    print(d, flush=True); time.sleep(30)\n"
    )
    other = subprocess.Popen(
        [sys.executable, "-c", hold, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout is not None
        held = int(other.stdout.readline())
        with private_domain(tmp_path) as mine:
            assert mine != held
    finally:
        other.kill()
        other.wait()
    with private_domain(tmp_path) as freed:
        assert freed == held  # a killed holder releases its domain


def test_the_environments_domain_is_never_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROS_DOMAIN_ID", str(PRIVATE_DOMAINS[0]))
    with private_domain(tmp_path) as domain:
        assert domain == PRIVATE_DOMAINS[1]


def test_no_free_domain_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROS_DOMAIN_ID", raising=False)
    with ExitStack() as stack:
        for _ in PRIVATE_DOMAINS:
            stack.enter_context(private_domain(tmp_path))
        with pytest.raises(RuntimeError, match="no free DDS domain in 60-99"):
            stack.enter_context(private_domain(tmp_path))
