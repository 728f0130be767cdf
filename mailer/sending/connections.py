"""The SMTP connections of one worker process, each on its own thread.

A worker keeps SEND_CONNECTIONS_PER_WORKER sessions in flight. Each ``Connection``
has its own ``SmtpSession``, its own lease owner and its own claimed rows, sent in id
order, one message at a time: the runner hands it a built message, the thread sends
it, and the runner records the outcome (grouped with the other connections' outcomes,
one statement) before handing it the next. So when a process dies, each of its
connections has at most one message that may have been accepted without a record —
the lowest row of that connection's owner, which lease expiry flags
``possibly_duplicated`` (DESIGN.md invariant 3).

Threads, not asyncio: sending is waiting on sockets, which releases the GIL, and
smtplib (with PIPELINING, pre-dot-stuffed bytes) stays the one SMTP client of the
project. The threads never touch the database; only the runner's thread does.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from mailer.sending.delivery import Claimed
from mailer.sending.outbound import message_deliver
from mailer.sending.ratelimit import DeferralBackoff
from mailer.sending.routes import ChosenRoute
from mailer.sending.smtp import Accepted, DeliveryError, SmtpSession


@dataclass
class Job:
    """One message for one connection: nothing of it is on a socket until ``send``."""

    row: Claimed
    envelope_from: str
    data: bytes
    message_id: str
    stuffed: bool


@dataclass
class Result:
    connection: Connection
    job: Job
    accepted: Accepted | None = None
    error: BaseException | None = None  # DeliveryError, or a fault before any byte was sent


@dataclass
class Timings:
    """Seconds spent per phase, summed over a range; cheap enough to keep always on."""

    claim: float = 0.0  # claim, re-check of the audience, lease expiry, batch marks
    build: float = 0.0
    rate_limit: float = 0.0
    sign: float = 0.0
    smtp: float = 0.0  # in the connection threads, summed over connections
    ledger: float = 0.0  # recording outcomes
    wait: float = 0.0  # the runner waiting for a connection to finish a message
    cpu: float = 0.0  # CPU time of the whole worker process (all threads) over the range

    def add(self, other: Timings) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Connection:
    """One SMTP session of the worker, with the rows it claimed and has not tried."""

    index: int
    owner: str
    session: SmtpSession
    results: queue.SimpleQueue[Result]
    rows: deque[Claimed] = field(default_factory=deque)
    pacer: DeferralBackoff = field(default_factory=DeferralBackoff)
    timings: Timings = field(default_factory=Timings)
    busy: bool = False  # a message is out and its outcome not yet recorded
    drained: bool = False  # the last claim found nothing due for this connection
    jobs: queue.SimpleQueue[Job | None] = field(default_factory=queue.SimpleQueue)
    thread: threading.Thread | None = None

    def submit(self, job: Job) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, daemon=True,
                                           name=f"smtp-{self.index}")
            self.thread.start()
        self.busy = True
        self.jobs.put(job)

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            self.pacer.pause()
            started, signing = time.perf_counter(), self.timings.sign
            result = Result(self, job)
            try:
                result.accepted = message_deliver(
                    self.session, job.envelope_from, job.row.email, job.data,
                    stuffed=job.stuffed, timings=self.timings)
            except BaseException as exc:  # all of it goes to the runner, which decides
                result.error = exc
            self.timings.smtp += (time.perf_counter() - started) - (self.timings.sign - signing)
            self.results.put(result)

    def close(self) -> None:
        """Stop the thread (after its message, if one is out) and close the session."""
        if self.thread is not None:
            self.jobs.put(None)
            self.thread.join()
            self.thread = None
        self.session.close()


def connections_open(route: ChosenRoute, owner: str, count: int,
                     results: queue.SimpleQueue[Result]) -> list[Connection]:
    """``count`` connections to the route (opened lazily, on their first message), each
    with its own lease owner ``OWNER:cN``."""
    return [Connection(i, f"{owner}:c{i}", SmtpSession(route.config), results)
            for i in range(count)]


def delivery_error(result: Result) -> DeliveryError | None:
    return result.error if isinstance(result.error, DeliveryError) else None
