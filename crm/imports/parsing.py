"""The rows of an import file, a batch at a time, parsed: read, validated and normalised, most of
it in email-validator and phonenumbers (0.15 ms a row, 3 of the 9.5 s a 20,000-row import took in
one process). A file big enough is parsed in a forked child process while this one matches and
writes the batches before, so the machine's second core does the parsing. The child only reads the
file and parses; it never uses the parent's database connections. Without a safe fork (another
thread running, which a fork would leave half-copied, or no fork on this system), or if the child
dies, the rows are parsed here."""

import gc
import logging
import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from itertools import islice
from pathlib import Path

from crm.extensions import db
from crm.imports.reader import Layout, rows

log = logging.getLogger(__name__)
# Below this a fork (a few milliseconds) and its pipe cost more than a second core saves.
APART_FROM_BYTES = 256 * 1024

Parse = Callable[[list[tuple[int, list[str]]]], list]


def batched(items, size: int):
    """itertools.batched of Python 3.12."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def parsed_batches(parse: Parse, path: Path, layout: Layout, size: int) -> Iterable[tuple[int, list]]:
    """(rows read, ``parse`` of them) for each batch of ``size`` rows of the file, in order. Parsing
    in another process starts at once; ``close()`` the result when done with it, even early."""
    if path.stat().st_size >= APART_FROM_BYTES and can_fork():
        try:
            return _Apart(parse, path, layout, size)
        except OSError:  # out of memory or processes
            log.warning("cannot fork a parser for an import; parsing in this process", exc_info=True)
    return _here(parse, path, layout, size)


def can_fork() -> bool:
    """A fork copies only the thread that calls it: with other threads running (a job in a thread
    of the web process), a lock one of them holds would stay locked in the child for ever."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and not multiprocessing.current_process().daemon  # daemonic processes may not have children
    )


def _here(parse: Parse, path: Path, layout: Layout, size: int, skip: int = 0) -> Iterator[tuple[int, list]]:
    for batch in batched(islice(rows(path, layout), skip, None), size):
        yield len(batch), parse(batch)


class _Apart:
    """The child sends each batch through a pipe, whose small buffer keeps it at most a batch or
    two ahead (memory stays flat). Closing the pipe makes the child's next send fail, and it ends."""

    def __init__(self, parse: Parse, path: Path, layout: Layout, size: int):
        self.parse, self.path, self.layout, self.size = parse, path, layout, size
        context = multiprocessing.get_context("fork")
        self.receiver, sender = context.Pipe(duplex=False)
        self.child = context.Process(target=_child, args=(parse, path, layout, size, sender), daemon=True)
        try:
            self.child.start()
        except BaseException:
            self.receiver.close()
            raise
        finally:
            sender.close()  # the child's copy stays open: a closed pipe means the child has ended

    def __iter__(self) -> Iterator[tuple[int, list]]:
        done = 0
        while True:
            try:
                message = self.receiver.recv()
            except EOFError:  # the child died (killed, out of memory) before the end of the file
                self.child.join(1)
                log.warning("an import's parser ended early (exit code %s); parsing the rest here", self.child.exitcode)
                yield from _here(self.parse, self.path, self.layout, self.size, skip=done)
                return
            if message is None:
                return
            if isinstance(message, BaseException):
                raise message
            done += message[0]
            yield message

    def close(self) -> None:
        self.receiver.close()
        self.child.join(1)
        if self.child.is_alive():
            self.child.kill()
            self.child.join()


def _child(parse: Parse, path: Path, layout: Layout, size: int, sender) -> None:
    """Runs in the forked process, which has a copy of the parent's app context (and so its
    locale and its translations) and exits without running the parent's clean-up code."""
    # The parent's objects, copied, stay as they are: the garbage collector leaves them alone (a
    # full collection would walk them all, and copy every page it touches).
    gc.freeze()
    try:
        # A copy of the parent's pool must never talk to its connections: a new, empty pool.
        db.engine.dispose(close=False)
        for batch in batched(rows(path, layout), size):
            sender.send((len(batch), parse(batch)))
        sender.send(None)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the parent stopped reading: the import ended or failed
    except Exception as error:  # the parent raises it, as parsing there would have
        log.exception("an import's parser failed")
        _send_error(sender, error)
    finally:
        sender.close()


def _send_error(sender, error: Exception) -> None:
    try:
        sender.send(error)
    except OSError:
        pass  # the parent stopped reading
    except Exception:  # the error cannot be pickled: its text then
        with suppress(OSError):
            sender.send(RuntimeError(f"{type(error).__name__}: {error}"))
