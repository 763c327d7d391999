"""What every ``kaico`` command shares: exit codes, the usage error, profile loading and the
active-probe flags. Commands import this module; it imports no command back.

Exit codes (stable, for CI):
  0  nothing at or above ``--fail-on`` failed (``cluster``: every MUST met)
  1  something did (a failing or erroring check, an orphan autoscaler, a MUST not met)
  2  unusable input: unreadable file, YAML error, unknown or invalid profile, bad flag,
     no reachable cluster, a missing optional dependency
"""

from __future__ import annotations

# Not typing's: ``kaico --help`` imports nothing it does not need (typing ~2 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2


class UsageError(Exception):
    """Unusable input; the CLI prints the message and exits 2."""


class Streams:
    """The standard streams a command reads and writes (tests pass their own). A plain class:
    ``dataclasses`` (with ``inspect``) is ~7 ms of ``kaico --help``, which needs nothing else
    of it."""

    __slots__ = ("stdout", "stderr", "stdin")

    def __init__(self, stdout: TextIO, stderr: TextIO, stdin: TextIO | None = None):
        self.stdout, self.stderr, self.stdin = stdout, stderr, stdin


def load_profile(reference: str):
    """A built-in profile by name, or a ConformanceProfile YAML file, read by the same bounded
    loader as manifests; an unusable one raises ``UsageError`` with a one-line message."""
    from pathlib import Path

    from conformance.profile import BUILTIN_PROFILES, ProfileError, builtin_profile, parse_profile
    from kaico.cli.manifests import ManifestError, parse_text, read_input

    if reference in BUILTIN_PROFILES:
        return builtin_profile(reference)
    path = Path(reference)
    if not path.exists():
        raise UsageError(
            f"profile {reference!r}: neither a built-in profile "
            f"({', '.join(BUILTIN_PROFILES)}) nor a file"
        )
    try:
        objects = parse_text(read_input(path, reference), reference)
    except ManifestError as error:
        raise UsageError(str(error)) from None
    profiles = [o for o in objects if o.body.get("kind") == "ConformanceProfile"]
    if len(profiles) != 1:
        raise UsageError(f"{reference}: expected one ConformanceProfile, found {len(profiles)}")
    found = profiles[0]
    try:
        return parse_profile(found.body, source=reference)
    except ProfileError as error:
        raise UsageError(
            f"{reference}:{found.line}: invalid profile: " + "; ".join(error.problems)
        ) from None


def add_probe_arguments(group: argparse._ActionsContainer) -> None:
    """The active-probe flags, shared by ``kaico cluster`` and ``kaico run`` (read by
    ``kaico.cluster.probes.ProbeOptions.from_args``)."""
    from kaico.cluster.probes import ProbeOptions

    group.add_argument("--probe-image", default=ProbeOptions.image,
                       help=f"image of the probe pods; mirror it for an air-gapped cluster "
                       f"(default: {ProbeOptions.image})")
    group.add_argument("--probe-timeout", type=float, default=ProbeOptions.timeout, metavar="SECONDS",
                       help=f"how long a probe waits for pods or Jobs (default: {ProbeOptions.timeout:.0f})")
    group.add_argument("--probe-role", metavar="CLUSTERROLE",
                       help="bind this ClusterRole to kaico itself in each namespace a probe "
                       "creates (the chart's <release>-probe-namespace); default: none, kaico's "
                       "own rights must cover the probes")
    group.add_argument("--gang-namespace", metavar="NS",
                       help="namespace prepared for the gang scheduler (e.g. with a Kueue "
                       "LocalQueue); default: a fresh namespace")
    group.add_argument("--gang-job-label", action="append", default=[], metavar="KEY=VALUE",
                       help="label the gang Jobs carry, e.g. kueue.x-k8s.io/queue-name=q; repeatable")
    group.add_argument("--gang-negative-window", type=float, default=ProbeOptions.gang_negative_window,
                       metavar="SECONDS", help="how long the oversized gang must stay unscheduled "
                       f"(default: {ProbeOptions.gang_negative_window:.0f})")
