"""Reading an accelerator exporter's Prometheus text exposition and judging what it offers.

The parser reads the text format (``name{label="value",...} value [timestamp]``, comments,
escaped label values) into samples; it keeps what the judgement needs and skips lines it cannot
read rather than failing, because exporters in the wild emit odd lines.

The judgement follows the upstream ``TestAcceleratorPerformanceMetrics``: a utilisation metric
and a memory metric, each carrying a per-device label; temperature, power and interconnect
metrics are optional and only reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Label keys that identify one device, as the upstream test accepts them (NVIDIA, MIG, Intel,
# AMD, PCI).
DEVICE_LABELS = (
    "gpu", "UUID", "uuid", "device_id", "dev_id", "card_id", "GPU_I_ID", "minor_number",
    "pci_bus_id",
)
UTILISATION_NAMES = ("DCGM_FI_DEV_GPU_UTIL",)
MEMORY_NAMES = ("DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE")
_UTILISATION = re.compile(r"util", re.IGNORECASE)
_MEMORY = re.compile(r"fb_used|fb_free|mem_used|memory_used|vram_used|hbm_used", re.IGNORECASE)
_OPTIONAL = {
    "temperature": re.compile(r"temp", re.IGNORECASE),
    "power": re.compile(r"power|watt|energy", re.IGNORECASE),
    "interconnect": re.compile(r"nvlink|pcie_tx|pcie_rx|bandwidth|xgmi", re.IGNORECASE),
}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,)?')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def _unescape(value: str) -> str:
    return re.sub(r'\\[\\"n]', lambda m: _UNESCAPE[m.group(0)], value)


def parse_exposition(text: str) -> list[Sample]:
    """Samples of a Prometheus text exposition; unreadable lines are skipped."""
    samples: list[Sample] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name_match = _NAME.match(line)
        if not name_match:
            continue
        name, rest = name_match.group(0), line[name_match.end():]
        labels: dict[str, str] = {}
        if rest.startswith("{"):
            position = 1
            while True:
                label = _LABEL.match(rest, position)
                if not label:
                    break
                labels[label.group(1)] = _unescape(label.group(2))
                position = label.end()
                if not label.group(3):
                    break
            closing = rest.find("}", position)
            if closing < 0 or rest[position:closing].strip():
                continue
            rest = rest[closing + 1:]
        fields = rest.split()
        if not fields:
            continue
        try:
            value = float(fields[0])
        except ValueError:
            continue
        samples.append(Sample(name, labels, value))
    return samples


@dataclass(frozen=True)
class MetricsAssessment:
    """What one exporter offers: the per-device utilisation and memory metrics found (name and
    the device label they carry), the optional families, and the devices seen."""

    utilisation: tuple[str, str] | None = None
    memory: tuple[str, str] | None = None
    optional: dict[str, str] = field(default_factory=dict)
    devices: frozenset[str] = frozenset()
    sample_count: int = 0

    @property
    def complete(self) -> bool:
        return self.utilisation is not None and self.memory is not None


def _device_label(sample: Sample) -> str | None:
    return next((key for key in DEVICE_LABELS if sample.labels.get(key)), None)


def _pick(samples: list[Sample], exact: tuple[str, ...], pattern: re.Pattern[str]
          ) -> tuple[str, str] | None:
    """The first per-device metric: the exact DCGM names in their order of preference, then
    any name matching the pattern."""
    candidates = [s for name in exact for s in samples if s.name == name]
    candidates += [s for s in samples if s.name not in exact and pattern.search(s.name)]
    for sample in candidates:
        label = _device_label(sample)
        if label:
            return sample.name, label
    return None


def assess_exposition(text: str) -> MetricsAssessment:
    samples = parse_exposition(text)
    optional: dict[str, str] = {}
    for family, pattern in _OPTIONAL.items():
        found = next((s.name for s in samples if pattern.search(s.name) and _device_label(s)), None)
        if found:
            optional[family] = found
    devices = frozenset(
        f"{key}={s.labels[key]}" for s in samples for key in DEVICE_LABELS[:2] if s.labels.get(key)
    )
    return MetricsAssessment(
        utilisation=_pick(samples, UTILISATION_NAMES, _UTILISATION),
        memory=_pick(samples, MEMORY_NAMES, _MEMORY),
        optional=optional,
        devices=devices,
        sample_count=len(samples),
    )
