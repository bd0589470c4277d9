"""What every benchmark records about the machine it ran on (imported by the bench scripts)."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path


def machine_info() -> dict:
    """CPU model (from /proc/cpuinfo where there is one), cores, Python, platform and today's date."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "date": time.strftime("%Y-%m-%d")}
