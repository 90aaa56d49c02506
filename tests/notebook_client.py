"""nbmake's notebook runner with one change: the kernel's messages are awaited in one-second slices.

Why. In about one suite run in three, a notebook stalled for exactly its cell timeout (600 s) and
then passed. Caught with per-cell timings (nbclient's ``record_timing``): the kernel had sent a
cell's ``execute_reply`` at once, and the next cell began exactly when the wait for that reply
reached its deadline. The reply had reached the client's shell socket without waking the client's
asyncio poll (pyzmq watches ZeroMQ's edge-triggered notification; this one was lost), and only the
poll's last check at its deadline found it. nbclient waits for each reply with one poll as long as
the cell timeout; in one-second slices, each slice ends with that same check, so a lost wake-up
costs at most a second. A real timeout still fails at the same deadline. The output (IOPub) channel
is awaited the same way: a lost wake-up there would cost nbclient's 4-second IOPub timeout and the
cell's last outputs.
"""

from __future__ import annotations

import time
from queue import Empty

from nbclient import NotebookClient
from nbmake import nb_run
from nbmake.nb_run import NotebookRun

SLICE_S = 1.0


def sliced(get_msg, slice_s: float = SLICE_S):
    """``get_msg(timeout)`` polling at most ``slice_s`` at a time until ``timeout`` (None: forever)."""

    async def get_msg_in_slices(timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await get_msg(timeout=slice_s if left is None else min(slice_s, left))
            except Empty:
                if left is not None and left <= slice_s:
                    raise

    return get_msg_in_slices


class SlicedPollClient(NotebookClient):
    """``NotebookClient`` whose kernel client polls the shell and IOPub channels in slices (see the module)."""

    async def async_start_new_kernel_client(self):
        kernel_client = await super().async_start_new_kernel_client()
        for channel in (kernel_client.shell_channel, kernel_client.iopub_channel):
            channel.get_msg = sliced(channel.get_msg)
        return kernel_client


def run_notebook(path, timeout_s: int):
    """``NotebookRun(path, timeout_s).execute()`` (nbmake's runner and its error report) with ``SlicedPollClient``."""
    original = nb_run.NotebookClient
    nb_run.NotebookClient = SlicedPollClient
    try:
        return NotebookRun(path, default_timeout=timeout_s).execute()
    finally:
        nb_run.NotebookClient = original
