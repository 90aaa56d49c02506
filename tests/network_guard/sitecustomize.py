"""Network guard: any connection to a non-loopback address fails, and is written to a log.

The test suite puts this folder first on PYTHONPATH, so Python imports this file at start-up in
every process it launches, notebook kernels included. A library that swallows the error (as
circuitsvis's ``internet_on`` does) is still caught: the suite reads the log after each test and
fails the test during which an attempt was logged.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import traceback

LOG_ENV = "WORKBENCH_NETWORK_GUARD_LOG"
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkBlockedError(ConnectionRefusedError):
    """Raised instead of opening a connection off this machine."""


def is_loopback(host) -> bool:
    """True for loopback addresses and names; False for anything that would leave the machine."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]")
    if host in ("", *LOOPBACK_NAMES):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _record_and_raise(what: str, target) -> None:
    stack = "".join(traceback.format_stack(limit=12)[:-2])
    log_path = os.environ.get(LOG_ENV)
    if log_path:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"--- pid {os.getpid()}: {what} {target!r}\n{stack}")
    raise NetworkBlockedError(f"network guard: {what} {target!r} blocked (tests run offline)")


def install() -> None:
    """Patch socket so that connect/sendto/getaddrinfo to non-loopback targets are refused."""
    if getattr(socket, "_workbench_guarded", False):
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def is_inet(sock) -> bool:
        return sock.family in (socket.AF_INET, socket.AF_INET6)

    def connect(self, address):
        if is_inet(self) and not is_loopback(address[0]):
            _record_and_raise("connect to", address)
        return real_connect(self, address)

    def connect_ex(self, address):
        if is_inet(self) and not is_loopback(address[0]):
            _record_and_raise("connect to", address)
        return real_connect_ex(self, address)

    def sendto(self, data, *args):
        address = args[-1]
        if is_inet(self) and not is_loopback(address[0]):
            _record_and_raise("sendto", address)
        return real_sendto(self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if not is_loopback(host) and host != socket.gethostname():
            _record_and_raise("name lookup of", host)
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.getaddrinfo = getaddrinfo
    socket._workbench_guarded = True


if os.environ.get(LOG_ENV):
    install()
