"""A stand-in DCGM exporter on 127.0.0.1: it serves Prometheus text shaped like
dcgm-exporter's default counters for a node with two GPUs, and can be told to drop families
or to fail, so a test can walk accelerator_metrics through every state."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_FAMILIES = {
    "DCGM_FI_DEV_SM_CLOCK": ("gauge", "SM clock frequency (in MHz).", (1410, 1395)),
    "DCGM_FI_DEV_MEM_CLOCK": ("gauge", "Memory clock frequency (in MHz).", (1593, 1593)),
    "DCGM_FI_DEV_GPU_TEMP": ("gauge", "GPU temperature (in C).", (41, 44)),
    "DCGM_FI_DEV_POWER_USAGE": ("gauge", "Power draw (in W).", (71.204, 265.8)),
    "DCGM_FI_DEV_GPU_UTIL": ("gauge", "GPU utilization (in %).", (0, 87)),
    "DCGM_FI_DEV_MEM_COPY_UTIL": ("gauge", "Memory utilization (in %).", (0, 31)),
    "DCGM_FI_DEV_FB_FREE": ("gauge", "Framebuffer memory free (in MiB).", (80994, 12210)),
    "DCGM_FI_DEV_FB_USED": ("gauge", "Framebuffer memory used (in MiB).", (0, 68784)),
    "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL": (
        "counter", "Total number of NVLink bandwidth counters for all lanes.", (0, 1048576)),
    "DCGM_FI_DEV_XID_ERRORS": ("gauge", "Value of the last XID error encountered.", (0, 0)),
}
_GPUS = (
    ("0", "GPU-5a3b1c0e-7f3d-4d3e-9f41-0c2b8e6a9d10", "00000000:18:00.0", "nvidia0"),
    ("1", "GPU-9e2f4a61-1b7c-4c55-8d2e-3a1f6b0c7e42", "00000000:2A:00.0", "nvidia1"),
)


def exposition(families: set[str] | None = None) -> str:
    lines = []
    for name, (kind, help_text, values) in _FAMILIES.items():
        if families is not None and name not in families:
            continue
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for (gpu, uuid, bus, device), value in zip(_GPUS, values, strict=True):
            lines.append(
                f'{name}{{gpu="{gpu}",UUID="{uuid}",pci_bus_id="{bus}",device="{device}",'
                f'modelName="NVIDIA H100 80GB HBM3",Hostname="kwok-gpu-0",'
                f'DCGM_FI_DRIVER_VERSION="580.65.06"}} {value}'
            )
    return "\n".join(lines) + "\n"


class FakeDcgmExporter:
    """``url`` serves ``/metrics``; set ``families`` to a subset, or ``failing`` for HTTP 500."""

    def __init__(self) -> None:
        self.families: set[str] | None = None
        self.failing = False
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path != "/metrics" or exporter.failing:
                    self.send_error(500 if exporter.failing else 404)
                    return
                body = exposition(exporter.families).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass  # keep pytest output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/metrics"

    def __enter__(self) -> FakeDcgmExporter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
