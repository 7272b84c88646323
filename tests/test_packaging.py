"""``pip install .`` gives the ``t2f`` and ``train`` packages (with their data files) and the ``t2f`` command."""

import shutil
import subprocess
import sys
import zipfile

from conftest import REPO


def test_the_wheel_holds_both_packages_their_data_and_the_command(tmp_path):
    for name in ("t2f", "train", "pyproject.toml", "README.md"):
        source = REPO / name
        copy = shutil.copytree if source.is_dir() else shutil.copy
        copy(source, tmp_path / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if source.is_dir() else {}))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", "dist"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("t2f_msggan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("t2f/text/base.py", "t2f/model.py", "train/cli/__init__.py", "train/fit/loop.py", "train/eval/people_descriptions.json", "train/configs/celeba128-v2-cpu.json"):
        assert required in names, required
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "t2f = t2f.__main__:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
