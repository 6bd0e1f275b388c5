"""`aggregator serve` as an operator runs it: worker processes, replacement, clean stop."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHILDREN = "/proc/{pid}/task/{pid}/children"
pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists(),
                                reason="reads worker processes from /proc (Linux)")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A store with its schema and an (empty) search index, as after `aggregator init`."""
    values = {**os.environ, "AGGREGATOR_DATA_DIR": str(tmp_path / "data"),
              "AGGREGATOR_DATABASE_URL": "", "AGGREGATOR_NETWORK_NAME": "Jaringan Uji"}
    values.pop("AGGREGATOR_CONFIG", None)
    for args in (["init"], ["index", "rebuild"]):
        subprocess.run([sys.executable, "-m", "aggregator", *args], env=values, check=True,
                       capture_output=True, timeout=60)
    return values


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    with subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "--port", "0",
                           "--workers", "2", "--threads", "2"], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as child:
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            assert found, line
            yield child, found.group(1)
        finally:
            child.kill()
            child.wait()


def workers(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(CHILDREN.format(pid=pid)).read_text().split()}
    except FileNotFoundError:
        return set()


def wait_for(predicate: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_serve_answers_from_worker_processes_and_replaces_a_dead_one(
        served: tuple[subprocess.Popen[str], str]) -> None:
    child, url = served
    wait_for(lambda: len(workers(child.pid)) == 2)
    status, body = get(url + "healthz")
    assert status == 200 and json.loads(body)["index"]["documents"] == 0
    status, page = get(url)
    assert status == 200 and "Jaringan Uji" in page

    first = workers(child.pid)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(workers(child.pid)) == 2 and victim not in workers(child.pid))
    assert get(url + "healthz")[0] == 200

    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=15) == 0
    for pid in workers(child.pid) | first - {victim}:
        wait_for(lambda pid=pid: not Path(f"/proc/{pid}").exists() or
                 "zombie" in Path(f"/proc/{pid}/status").read_text())


def test_serve_refuses_a_busy_port_with_one_line(env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for workers_wanted in ("1", "2"):
            result = subprocess.run(
                [sys.executable, "-m", "aggregator", "serve", "--port", str(port),
                 "--workers", workers_wanted], env=env, capture_output=True, text=True,
                timeout=30)
            assert result.returncode == 2
            assert result.stderr.startswith("error: cannot listen on 127.0.0.1:")
            assert "Traceback" not in result.stderr
