"""How checks phrase their outcome: naming the parts of a workload in messages, and folding the
verdicts on several parts (templates, containers, autoscalers) into the one Outcome a check returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from conformance.findings import Outcome, capped, failed, passed, skipped, warned
from conformance.workload import Container, PodTemplate


def template_label(template: PodTemplate) -> str:
    """``template 'predictor' (spec.predictor)``: the role, and where it sits in the body."""
    role = template.role or "pod"
    return f"template '{role}' ({template.path})" if template.path else f"template '{role}'"


def container_label(template: PodTemplate, container: Container) -> str:
    """``container 'main' (spec.template.containers[0])``, falling back to the template's path."""
    where = container.path or template.path
    name = container.name or "<unnamed>"
    return f"container '{name}' ({where})" if where else f"container '{name}'"


def shown(value: object, limit: int = 64) -> str:
    """A value from the input, as a message quotes it: at most ``limit`` characters."""
    return capped(str(value), limit)


def quoted(names: Iterable[object]) -> str:
    """``'a', 'b'`` for a message; sorted so messages are deterministic."""
    return ", ".join(f"'{name}'" for name in sorted({str(n) for n in names}))


@dataclass
class Verdicts:
    """Collects what a check concluded about each part and returns one Outcome.

    The worst verdict wins (fail, then warn, then pass, then skip). Problems are listed
    first so the message leads with what to change; a pass still names the parts it judged
    and the ones it could not.
    """

    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    passes: list[str] = field(default_factory=list)
    skips: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def ok(self, message: str) -> None:
        self.passes.append(message)

    def skip(self, message: str) -> None:
        self.skips.append(message)

    def outcome(self, nothing_judged: str) -> Outcome:
        """The folded Outcome; ``nothing_judged`` is the skip message when no part was seen."""
        if self.failures:
            return failed(_join(self.failures + self.warnings))
        if self.warnings:
            return warned(_join(self.warnings))
        if self.passes:
            return passed(_join(self.passes + self.skips))
        if self.skips:
            return skipped(_join(self.skips))
        return skipped(nothing_judged)


# A message names at most this many parts; the rest are counted ("and 4,992 more").
MAX_CLAUSES = 8


def _join(messages: list[str]) -> str:
    if len(messages) == 1:
        return messages[0]
    # Deduplicate while keeping order: the same problem found on two equal parts reads once.
    unique = list(dict.fromkeys(messages))
    if len(unique) <= MAX_CLAUSES:
        return "; ".join(unique)
    rest = len(unique) - MAX_CLAUSES
    return "; ".join(unique[:MAX_CLAUSES]) + f"; and {rest:,} more"
