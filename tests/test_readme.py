"""README's promises: CI runs README's own test command, and the Space front matter is complete."""

import re

import yaml

from conftest import REPO


def readme_commands() -> list[str]:
    """The fenced bash commands of the quick start, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", quick, flags=re.S)


def test_ci_runs_the_readme_test_command():
    start_app, run_tests = readme_commands()[:2]
    assert start_app.endswith("python app.py") and "requirements.txt" in start_app
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert run_tests in ci
    # A fresh Debian machine's package lists are empty: the install must refresh them first.
    assert 0 <= run_tests.find("apt-get update") < run_tests.find("apt-get install")


def test_space_front_matter():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    import gradio

    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["sdk_version"] == gradio.__version__  # the Space runs the version the tests ran
    assert len(meta["short_description"]) <= 60
    for key in ("title", "emoji", "python_version", "license"):
        assert meta[key]


def test_requirements_are_pinned():
    for name in ("requirements.txt", "requirements-train.txt", "requirements-test.txt"):
        for line in (REPO / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-r"):
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][^\s]*", line), (name, line)
