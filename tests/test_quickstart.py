"""The README's quick start, run word by word in a private network namespace on a machine in the
Asia/Ho_Chi_Minh zone (#13's "done when"): the bulletin is for 07:00 local, the cluster is provisioned
while the server runs and shows up online in `loa speakers list`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from engine.netns import command

pytestmark = [pytest.mark.netns, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent


def quickstart() -> str:
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- quickstart -->\n```sh\n(.*?)```\n<!-- /quickstart -->", readme, re.S)
    assert m, "README.md has its quick start between <!-- quickstart --> markers"
    return m.group(1)


def test_the_readme_quick_start_schedules_in_local_time_and_provisions_a_cluster_while_serving(
    tmp_path: Path,
) -> None:
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")  # "after make setup", in a directory of its own
    script = tmp_path / "quickstart.sh"
    script.write_text("set -e\n" + quickstart() + "wait\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
    env |= {"TZ": "Asia/Ho_Chi_Minh", "LOA_VOICES_DIR": str(tmp_path / "voices")}
    done = subprocess.run(
        command(["bash", str(script)]), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    listed = re.search(r"^(\S+)\s+\S+\s+07:00:00 \+07\s+queued\s+normal\s+ap-1\s*$", done.stdout, re.M)
    assert listed, done.stdout
    assert re.search(r"^cum-07\s+online\b.*\bap-1$", done.stdout, re.M), done.stdout
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
