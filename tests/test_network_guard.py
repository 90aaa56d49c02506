"""The guard refuses connections off the machine, in this process and in child processes."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest


def _take_log(request) -> str:
    log = request.config.network_guard_log
    text = log.read_text()
    log.write_text("")  # the attempt below is deliberate: do not fail this test for it
    return text


def test_blocks_public_address(request):
    with pytest.raises(ConnectionRefusedError, match="network guard"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    assert "93.184.216.34" in _take_log(request)


def test_blocks_name_lookup(request):
    with pytest.raises(OSError, match="network guard"):
        socket.getaddrinfo("huggingface.co", 443)
    assert "huggingface.co" in _take_log(request)


def test_allows_loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=1)
    client.close()
    server.close()


def test_child_processes_are_guarded(request):
    code = "import urllib.request\ntry:\n    urllib.request.urlopen('http://google.com', timeout=1)\nexcept Exception as e:\n    print(type(e).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "google.com" in _take_log(request), out
