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


@pytest.fixture
def logging_restored():
    """`kaico run` configures logging for the process (levels, kopf's watch logger tap): undo it
    so later tests see the logging they set up."""
    import logging

    from kaico.runtime.health import KOPF_WATCH_LOGGER

    root, names = logging.getLogger(), ("kopf", KOPF_WATCH_LOGGER)
    saved = (root.level, list(root.handlers),
             [(logging.getLogger(n).level, list(logging.getLogger(n).filters)) for n in names])
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, (level, filters) in zip(names, saved[2], strict=True):
        logging.getLogger(name).setLevel(level)
        logging.getLogger(name).filters[:] = filters


@pytest.mark.usefixtures("logging_restored")
def test_a_webhook_port_already_taken_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    """The operator starts its webhook before it watches anything: a taken port is a usage error."""
    import socket
    import subprocess

    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=x"],
                   check=True, capture_output=True, timeout=30)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["run", "--metrics-port", "0", "--admission", "--admission-port", str(port),
                     "--admission-cert", str(cert), "--admission-key", str(key)])
    assert code == EXIT_UNUSABLE
    stderr = capsys.readouterr().err
    assert f"--admission-port {port}: " in stderr and "in use" in stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
