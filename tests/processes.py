"""Real processes and ports for tests that run `residesk` as an operator would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def residesk(*args: str, cwd: Path, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("BOT_TOKEN", "DATABASE_URL", "TELEGRAM_API_URL")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
