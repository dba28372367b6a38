"""The soak: an hour (`--minutes`) of steady load on real processes, with a few faults.

`python -m bench.soak` (or `make soak`): redis-server, `taskline serve` and `taskline worker`
processes; a producer submitting at a steady rate through the blocking `Client` over HTTP; a
worker killed with SIGKILL and restarted every ~10 minutes and the API killed and restarted once.
Every ~10 s the RSS of every process and Redis's `used_memory` are sampled; each submit's latency
(client side) and each task's end-to-end latency (`completed_at - created_at`, from the
`task.completed` events) are recorded. The analysis (analysis.py, pure) decides whether memory
is flat after warm-up and latency did not drift, and the run exits non-zero when it is not.

Under bench/ rather than tests/: it is a timed measurement on wall-clock load, which the project
keeps out of the test suite (tests/ never depends on speed); its pure analysis is unit-tested in
tests/unit/test_soak_analysis.py.
"""
