"""Many jobs done by forked worker processes, each answering through a pipe (POSIX).

concurrent.futures' process pool costs a many-file check more than it has to, and
loses the whole run when one worker dies. Importing it (with multiprocessing,
logging, tempfile, subprocess) takes ~15 ms before the first worker starts;
every job and answer is pickled by threads of the parent that compete with the
workers for the same cores; and a worker that dies (the OOM killer, a crash in
a C extension) raises BrokenProcessPool for every job still out. Forked workers
already hold the jobs, so here they are told only which to do, and each worker
answers through a pipe of its own: a 4-byte length and marshal's bytes.

Jobs go out in chunks that shrink towards the end (guided scheduling), so the
workers finish close together, and a worker answers a chunk in one message: a
write that wakes the parent costs tens of microseconds on a virtual machine,
as much as checking a small file. Which job a worker is on it keeps in shared
memory instead, so that when one dies, that job is answered with :class:`Died`
and the rest of its chunk is done in this process.
"""

from __future__ import annotations

import marshal
import mmap
import os
import select
from collections.abc import Callable, Collection, Iterator

TYPE_CHECKING = False
if TYPE_CHECKING:
    # typing is ~2 ms to import, in the serial part of every many-file run.
    from typing import Any

    #: A worker's message: a chunk's number and the answers of its jobs, in order.
    _Message = tuple[int, list[Any]]
_LENGTH = 4
#: Bytes of a worker's slot in the shared "job in hand" table: the job's index + 1.
_SLOT = 8
#: At most this many chunks: all their numbers must fit in a pipe before anyone reads
#: it, and a user over the kernel's pipe allowance gets pipes of one page (4 KiB).
MAX_CHUNKS = 1000


class Died:
    """The answer for a job whose worker died doing it."""

    def __init__(self, status: int) -> None:
        self.status = status

    def __str__(self) -> str:
        if os.WIFSIGNALED(self.status):
            import signal

            number = os.WTERMSIG(self.status)
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f"signal {number}"
            return f"the worker process checking it was killed by {name}"
        code = os.waitstatus_to_exitcode(self.status)
        return f"the worker process checking it exited with status {code}"


def chunks(count: int, workers: int) -> list[tuple[int, int]]:
    """``range(count)`` cut into (start, end) chunks that shrink as fewer jobs are left,
    at most :data:`MAX_CHUNKS` of them."""
    smallest = max(1, -(-count // MAX_CHUNKS))
    out = []
    start = 0
    while start < count:
        end = min(count, start + max(smallest, (count - start) // (workers * 4)))
        out.append((start, end))
        start = end
    return out


def fork_map(work: Callable[[int], Any], count: int, workers: int) -> Iterator[tuple[int, Any]]:
    """``(i, work(i))`` for every ``i`` in ``range(count)``, in the order they are done.

    ``work`` runs in ``workers`` forked processes and its answers must be values
    marshal can write. A job whose worker died comes back as ``(i, Died(...))``.
    """
    bounds = chunks(count, workers)
    # Every chunk's number is in the pipe before the first fork: the workers read
    # until it is empty and closed, and the parent never has to feed it.
    tasks_read, tasks_write = os.pipe()
    try:
        os.write(tasks_write, b"".join(c.to_bytes(_LENGTH, "little") for c in range(len(bounds))))
    finally:
        os.close(tasks_write)
    alive: dict[int, _Worker] = {}
    answered = bytearray(count)
    in_hand = mmap.mmap(-1, _SLOT * max(1, workers))
    try:
        for slot in range(min(workers, len(bounds))):
            try:
                worker = _start(work, tasks_read, bounds, in_hand, slot)
            except OSError:
                # Out of processes or file descriptors: the workers started (or, with
                # none, this process) do the rest.
                break
            alive[worker.fd] = worker
        os.close(tasks_read)
        tasks_read = -1
        poll = select.poll()
        for fd in alive:
            poll.register(fd, select.POLLIN)
        while alive:
            for fd, _ in poll.poll():
                worker = alive[fd]
                data = os.read(fd, 1 << 16)
                if data:
                    for number, answers in worker.take(data):
                        for i, answer in zip(range(*bounds[number]), answers, strict=True):
                            answered[i] = 1
                            yield i, answer
                    continue
                poll.unregister(fd)
                del alive[fd]
                os.close(fd)
                _, status = os.waitpid(worker.pid, 0)
                at = _SLOT * worker.slot
                job = int.from_bytes(in_hand[at : at + _SLOT], "little") - 1
                if job >= 0 and not answered[job]:
                    answered[job] = 1
                    yield job, Died(status)
        # The rest of a dead worker's chunk (the jobs it had done were not sent yet).
        for i in range(count):
            if not answered[i]:
                yield i, work(i)
    finally:
        if tasks_read >= 0:
            os.close(tasks_read)
        _stop(list(alive.values()))
        in_hand.close()


class _Worker:
    def __init__(self, pid: int, fd: int, slot: int) -> None:
        self.pid = pid
        self.fd = fd
        self.slot = slot
        # Grown in place: a chunk's answers can take many reads to arrive, and joining
        # each read to all the ones before would copy them again and again.
        self.pending = bytearray()

    def take(self, data: bytes) -> list[_Message]:
        """The messages ``data`` completes."""
        buffer = self.pending
        buffer += data
        out = []
        at = 0
        while len(buffer) - at >= _LENGTH:
            size = int.from_bytes(buffer[at : at + _LENGTH], "little")
            if len(buffer) - at - _LENGTH < size:
                break
            at += _LENGTH
            out.append(marshal.loads(buffer[at : at + size]))
            at += size
        del buffer[:at]
        return out


def _start(
    work: Callable[[int], Any],
    tasks: int,
    bounds: list[tuple[int, int]],
    in_hand: mmap.mmap,
    slot: int,
) -> _Worker:
    answers_read, answers_write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(answers_read)
        os.close(answers_write)
        raise
    if pid == 0:
        status = 1
        try:
            os.close(answers_read)
            _serve(work, tasks, answers_write, bounds, in_hand, slot)
            status = 0
        finally:
            # Never return into the parent's code, flush its buffers or run its exit handlers.
            os._exit(status)
    os.close(answers_write)
    return _Worker(pid, answers_read, slot)


def _serve(
    work: Callable[[int], Any],
    tasks: int,
    out: int,
    bounds: list[tuple[int, int]],
    in_hand: mmap.mmap,
    slot: int,
) -> None:
    at = _SLOT * slot
    while True:
        # Each number was written whole, and a pipe hands a read of that size out whole.
        data = os.read(tasks, _LENGTH)
        if not data:
            return
        number = int.from_bytes(data, "little")
        answers = []
        for i in range(*bounds[number]):
            in_hand[at : at + _SLOT] = (i + 1).to_bytes(_SLOT, "little")
            answers.append(work(i))
        _send(out, (number, answers))


def _send(fd: int, message: _Message) -> None:
    payload = marshal.dumps(message)
    view = memoryview(len(payload).to_bytes(_LENGTH, "little") + payload)
    while view:
        view = view[os.write(fd, view) :]


def _stop(workers: Collection[_Worker]) -> None:
    """Kill and reap workers still running (the parent is leaving early)."""
    if not workers:
        return
    import signal

    for worker in workers:
        # Not reaped yet, so the pid is still this worker's, even if it has exited.
        os.kill(worker.pid, signal.SIGKILL)
        os.waitpid(worker.pid, 0)
        os.close(worker.fd)
