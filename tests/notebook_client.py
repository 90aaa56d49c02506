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


# ---- one run, kept: the kernel stays up after the last cell so that tests read its values --------
# Converts what an expression evaluates to into JSON: tensors and arrays as (nested) lists, numpy and
# torch scalars as numbers, tuples as lists, mappings with their keys as strings.
_PLAIN = '''
def __workbench_plain(value):
    import json, math, numbers
    def plain(v):
        if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
            return plain(v.tolist())
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple, set, frozenset)):
            return [plain(x) for x in v]
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, numbers.Integral):
            return int(v)
        if isinstance(v, numbers.Real):
            return None if math.isnan(float(v)) else float(v)
        raise TypeError(f"{type(v).__name__} is not plain data: convert it in the expression")
    return json.dumps(plain(value))
'''
_MARK = "\x1eworkbench-value\x1e"


class KernelRun:
    """A notebook executed top to bottom once, with its kernel kept for ``value``; ``close`` ends it.

    ``error`` holds the failing cell's report (and ``failing_cell``) when a cell raised; the cells before
    it keep their outputs in ``nb``. ``seconds`` is the wall time of the run, kernel start-up included.
    """

    def __init__(self, path, timeout_s: int):
        import nbformat
        from nbclient.exceptions import CellExecutionError

        self.path = path
        self.nb = nbformat.read(path, as_version=4)
        self.error: str | None = None
        self.failing_cell: int | None = None
        start = time.perf_counter()
        self._client = SlicedPollClient(self.nb, timeout=timeout_s, kernel_name="python3", shutdown_kernel="immediate",
                                        resources={"metadata": {"path": str(path.parent)}})
        self._kernel = self._client.setup_kernel()
        self._kernel.__enter__()
        try:
            for index, cell in enumerate(self.nb.cells):
                try:
                    self._client.execute_cell(cell, index)
                except CellExecutionError as error:
                    self.error, self.failing_cell = str(error), index
                    break
            else:
                self._run_quietly(_PLAIN)
            self._client.set_widgets_metadata()  # the widgets' last state, drawn where the notebook is opened
        finally:
            self.seconds = time.perf_counter() - start

    def _run_quietly(self, source: str) -> str:
        import nbformat

        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)  # nbclient writes the executed cell back at its index
        try:
            self._client.execute_cell(cell, len(self.nb.cells) - 1)
        finally:
            self.nb.cells.pop()
        return "".join(out.get("text", "") for out in cell.outputs if out.get("output_type") == "stream")

    def value(self, expression: str):
        """What ``expression`` evaluates to in the notebook's kernel now, as plain data (JSON-decoded)."""
        import json

        from nbclient.exceptions import CellExecutionError

        if self.error is not None:
            raise RuntimeError(f"{self.path.name} stopped in cell {self.failing_cell}; no value to read")
        try:
            text = self._run_quietly(f"print({_MARK!r} + __workbench_plain({expression}))")
        except CellExecutionError as error:
            raise ValueError(f"{self.path.name}: evaluating {expression!r} failed:\n{error}") from None
        return json.loads(text.rsplit(_MARK, 1)[1])

    def close(self):
        self._kernel.__exit__(None, None, None)
