"""The ``kaico`` command: one module per subcommand, each exposing ``DESCRIPTION``,
``add_arguments(parser)`` and ``run(args, streams)``; shared exit codes and profile loading live
in ``kaico.cli.common``.

Only the chosen command's module is imported (and only its flags are built), so ``kaico check``
and ``kaico --help`` never import the operator. Exit codes: ``kaico.cli.common``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from kaico.cli.common import EXIT_OK, EXIT_UNUSABLE, Streams, UsageError

TYPE_CHECKING = False  # not typing's: see kaico.cli.common
if TYPE_CHECKING:
    from typing import TextIO

# name -> (module, one-line help); the order is the order `kaico --help` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("kaico.cli.check", "check manifests offline (files, directories, or - for stdin)"),
    "checks": ("kaico.cli.checks", "list the check catalogue"),
    "cluster": ("kaico.cli.cluster",
                "judge the current cluster against the CNCF AI Conformance requirements"),
    "cleanup": ("kaico.cli.cleanup", "delete the reports kaico wrote (after stopping the operator)"),
    "run": ("kaico.cli.run", "run the operator against the current kube context"),
}


def _chosen(argv: list[str]) -> str | None:
    for argument in argv:
        if not argument.startswith("-"):
            return argument if argument in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s flags are built (all of them when ``command`` is None)."""
    parser = argparse.ArgumentParser(
        prog="kaico",
        description="Kubernetes AI Conformance: check model-serving workloads and clusters.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        if command is not None and name != command:
            commands.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        module.add_arguments(commands.add_parser(name, help=help_text, description=module.DESCRIPTION))
    return parser


def main(argv: list[str] | None = None, stdout: TextIO | None = None,
         stdin: TextIO | None = None, stderr: TextIO | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    streams = Streams(stdout or sys.stdout, stderr or sys.stderr, stdin)
    command = _chosen(argv)
    try:
        parser = build_parser(command if command is not None else "")
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_UNUSABLE if exit_.code else EXIT_OK
    try:
        module = importlib.import_module(COMMANDS[args.command][0])
        return module.run(args, streams)
    except UsageError as error:
        # One line, whatever the message quotes from the input (docs/cli.md, exit codes).
        streams.stderr.write(f"kaico: {' '.join(str(error).split())}\n")
        return EXIT_UNUSABLE
    except BrokenPipeError:
        # The output's reader went away (`kaico check ... | head`): no traceback, and nothing
        # more written to the closed pipe when Python flushes it at exit.
        if streams.stdout is sys.stdout:
            _silence_stdout()
        streams.stderr.write("kaico: the output was closed before all of it was written\n")
        return EXIT_UNUSABLE
    except OSError as error:
        # The system refused a read or write the command needed (the output's disk is full, an
        # I/O error): what was asked could not be done, which is not a failed check.
        if streams.stdout is sys.stdout and not _flushes(sys.stdout):
            _silence_stdout()
        where = f" ({error.filename})" if error.filename else ""
        streams.stderr.write(f"kaico: {error.strerror or error}{where}\n")
        return EXIT_UNUSABLE


def _flushes(stream: TextIO) -> bool:
    try:
        stream.flush()
    except (OSError, ValueError):
        return False
    return True


def _silence_stdout() -> None:
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
