"""`encoder sim --scheduler ADDRESS`: the shards of a run as tasks on a Dask cluster.

The run is planned, built and reported exactly as a local run (same split,
same seeds, same build), so the results equal a local run's; only the
shard simulations run on the cluster's workers instead of this machine's
threads. The workers must see the same file system (the build, the shard
folders and the IR are passed as absolute paths) and have the kit and the
simulator installed, as for ``encoder study --scheduler``.
"""

from __future__ import annotations

import uuid

from ..errors import UserError


def run_shards(scheduler: str, fn, calls: list[tuple]) -> list:
    """``fn(*args)`` for every args tuple in ``calls``, on the cluster; results in order."""
    from dask.distributed import Client
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise UserError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    try:
        tag = uuid.uuid4().hex[:8]
        futures = [client.submit(fn, *args, key=f"encoder-sim-shard-{i:02d}-{tag}", pure=False)
                   for i, args in enumerate(calls)]
        try:
            return client.gather(futures)
        except BaseException:
            client.cancel(futures)          # an interrupt or a lost worker: nothing keeps running there
            raise
    finally:
        client.close()
