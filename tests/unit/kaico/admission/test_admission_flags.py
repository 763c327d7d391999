"""`kaico run --admission` refuses what cannot serve a webhook with exit 2 and one line."""

import io

import pytest
from kaico.cli import main
from kaico.cli.common import EXIT_UNUSABLE


@pytest.mark.parametrize("argv, says", [
    (["--admission"], "--admission needs --admission-cert and --admission-key"),
    (["--admission-cert", "c.pem", "--admission-key", "k.pem"], "need --admission"),
    (["--admission", "--admission-port", "0", "--admission-cert", "c", "--admission-key", "k"],
     "--admission-port 0: not a port"),
    (["--admission", "--admission-cert", "/nonexistent/c.pem", "--admission-key", "/nonexistent/k.pem"],
     "--admission-cert /nonexistent/c.pem / --admission-key /nonexistent/k.pem: "),
])
def test_unusable_admission_flags_exit_2_with_one_line(argv, says):
    stderr = io.StringIO()
    assert main(["run", *argv], stdout=io.StringIO(), stderr=stderr) == EXIT_UNUSABLE
    text = stderr.getvalue()
    assert says in text and text.count("\n") == 1 and "Traceback" not in text
