"""Secrets kept in a file under the data folder, generated the first time they are needed."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from aggregator.errors import ConfigError

__all__ = ["keep_secret"]


def keep_secret(path: Path, setting: str) -> bytes:
    """The secret in ``path``, generated there the first time (readable by its owner
    only; concurrent first starts agree on one).

    Args:
        path: the file.
        setting: the setting that replaces the file, named in error messages.

    Raises:
        ConfigError: the file cannot be read or written, or is empty.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
        for _ in range(50):  # another process may be writing it this very moment
            secret = path.read_text().strip()
            if secret:
                return secret.encode()
            time.sleep(0.01)
    except OSError as exc:
        raise ConfigError(f"cannot read or create the secret {path}: "
                          f"{exc.strerror or exc}; set {setting}") from exc
    raise ConfigError(f"the secret {path} is empty: delete it or set {setting}")
