"""SIGTERM and SIGINT for the processes that run jobs (``idops jobs run``, ``idops scheduler``).

A container's PID 1 (``tini`` forwards the signal to idops) or Kubernetes sends SIGTERM and waits
``terminationGracePeriodSeconds``: the process takes no more job units from the signal on, lets the
running ones end within ``[scheduler] shutdown_grace_seconds``, hands back the rest (their run is
recorded ``interrupted`` and resumed by the next run), releases its leases and exits 0.
"""

from __future__ import annotations

import asyncio
import signal

from idops.jobruntime.runner import JobHost, RunRecord, run_job, stop


def stop_on_signals(c: JobHost) -> asyncio.Event:
    """From now on SIGTERM / SIGINT make ``c`` take no more job units and set the returned event."""
    event = asyncio.Event()

    def requested() -> None:
        c.running_units.request_stop()
        event.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, requested)
    return event


async def run_until_stopped(c: JobHost, name: str, *, trigger: str) -> RunRecord:
    """``run_job`` that a SIGTERM / SIGINT ends within the grace: the run comes back ``interrupted``
    (its unfinished units handed back, leases released) unless its units ended in time. Raises
    ``UnknownJob`` as ``run_job`` does."""
    stopping = stop_on_signals(c)
    job = asyncio.create_task(run_job(c, name, trigger=trigger))
    signalled = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait({job, signalled}, return_when=asyncio.FIRST_COMPLETED)
        if not job.done():
            await stop(c)
        return await job
    finally:
        signalled.cancel()
