"""Taskline against the Python task queues it must beat (and BullMQ), on one redis-server.

`python -m bench.peers` runs the same no-op workload on every peer and prints one table;
see README.md here. Each peer is one adapter module (`<peer>.py`) on the interface in
`base.py`; `measure.py` is the procedure, identical for every peer.
"""
