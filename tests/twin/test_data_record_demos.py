"""Re-running ``robot-rl record-demos`` on an existing store never records a seed twice:
it tops up to N on unused seeds, or refuses when asked to."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot_rl.cli import main
from robot_rl.data.episodes import EpisodeStore
from robot_rl.data.seeds import stored_seeds

pytestmark = pytest.mark.twin


def test_rerun_tops_up_without_duplicate_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "demos")
    args = ["record-demos", "--task", "reach", "--scripted", "--obs", "state", "--out", out]
    assert main([*args, "-n", "2"]) == 0
    assert main([*args, "-n", "2"]) == 0  # nothing to do
    assert "holds 2 >= 2 episodes" in capsys.readouterr().out
    assert main([*args, "-n", "4"]) == 0
    assert "topping up to 4 with 2 more" in capsys.readouterr().out
    store = EpisodeStore(out)
    seeds = stored_seeds(store)
    assert len(seeds) == 4 and len(set(seeds)) == 4
    for i in range(4):  # the recorder's episodes carry a manifest through the store
        assert store.has_manifest(i)
        store.verify(i)
    assert main([*args, "-n", "6", "--existing", "refuse"]) == 2
    assert "refusing" in capsys.readouterr().err
    assert len(EpisodeStore(out)) == 4
