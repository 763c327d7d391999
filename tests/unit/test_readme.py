"""The README's generated sections match the code they come from."""

import importlib.util


def load_updater(repo_root):
    spec = importlib.util.spec_from_file_location(
        "update_readme", repo_root / "hack" / "update_readme.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_check_table_is_generated_from_the_registry(repo_root):
    updater = load_updater(repo_root)
    text = (repo_root / "README.md").read_text()
    assert updater.updated_readme(text) == text, "README is stale: run `make docs`"


def test_the_readme_quick_start_is_two_commands(repo_root):
    text = (repo_root / "README.md").read_text()
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick_start.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert commands == ["make demo", "make test"]
