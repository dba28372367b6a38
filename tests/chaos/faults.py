"""The fault driver: at random moments, faults against the deployment, several at once.

- kill_serve:    SIGKILL a `taskline serve` (API, scheduler, webhook dispatcher), start it again
- stop_serve:    SIGSTOP one past a lease, then SIGCONT
- kill_worker:   SIGKILL a worker (HTTP or straight on Redis), start a new one
- stop_worker:   SIGSTOP one past a lease, then SIGCONT
- restart_redis: SIGKILL redis-server and start it again on its data (appendonly, fsync always)

Faults overlap (a worker stopped while Redis restarts, say), but a process takes one at a time.
"""

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tests.chaos.processes import Child


@dataclass(slots=True)
class Targets:
    serves: Sequence[Child]
    workers: Sequence[Child]
    redis: Child | None = None


@dataclass(slots=True)
class Driver:
    targets: Targets
    lease_s: float
    mean_gap_s: float
    seed: int
    each: int | None = None
    """Inject this many faults of each kind, then no more (None: until stopped)."""
    injected: Counter[str] = field(default_factory=Counter)
    log: list[tuple[float, str, str]] = field(default_factory=list)
    """(seconds it took, fault, target), for the run's report."""
    failures: list[str] = field(default_factory=list)
    """Faults that could not be carried out (a process that would not start again): the run
    restarts what is down when it settles, and reports these."""
    _busy: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def kinds(self) -> dict[str, tuple[Sequence[Child], Callable[[Child], None]]]:
        """Each fault: the processes it may hit, and what it does to one."""
        found: dict[str, tuple[Sequence[Child], Callable[[Child], None]]] = {
            "kill_serve": (self.targets.serves, self._restart),
            "stop_serve": (self.targets.serves, self._stop_past_a_lease),
            "kill_worker": (self.targets.workers, self._restart),
            "stop_worker": (self.targets.workers, self._stop_past_a_lease),
        }
        if self.targets.redis is not None:
            found["restart_redis"] = ([self.targets.redis], self._restart)
        return found

    def run(self, stop: threading.Event) -> None:
        """Inject faults until `stop`; return once every fault begun has ended."""
        rng = random.Random(self.seed)
        kinds = self.kinds()
        names: list[str] = []
        begun: Counter[str] = Counter()
        running: list[threading.Thread] = []
        while not stop.wait(rng.expovariate(1 / self.mean_gap_s)):  # a random moment is the point
            if not names:  # each kind in turn, shuffled per round: a short run gets some of every kind
                names = sorted(k for k in kinds if self.each is None or begun[k] < self.each)
                if not names:
                    break
                rng.shuffle(names)
            pool, fault = kinds[names[-1]]
            with self._lock:
                free = [child for child in pool if child.name not in self._busy]
                if not free:
                    continue  # that kind's turn waits for one of its processes to be free
                target = rng.choice(free)
                self._busy.add(target.name)
            kind = names.pop()
            begun[kind] += 1
            thread = threading.Thread(target=self._inject, args=(kind, fault, target), name=f"chaos-{kind}")
            thread.start()
            running.append(thread)
        for thread in running:
            thread.join()

    def _inject(self, kind: str, fault: Callable[[Child], None], target: Child) -> None:
        began = time.monotonic()
        try:
            fault(target)
        except Exception as exc:
            with self._lock:
                self.failures.append(f"{kind} {target.name}: {exc!r}")
        finally:
            with self._lock:
                self._busy.discard(target.name)
                self.injected[kind] += 1
                self.log.append((time.monotonic() - began, kind, target.name))

    @staticmethod
    def _restart(target: Child) -> None:
        target.kill()
        target.start()

    def _stop_past_a_lease(self, target: Child) -> None:
        target.pause()
        # The fault's length, not a synchronisation: long enough for the lease to run out and
        # the scheduler (another process's, or this one's once resumed) to notice.
        time.sleep(self.lease_s + 1.5)
        target.resume()
