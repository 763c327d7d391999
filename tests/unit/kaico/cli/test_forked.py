"""Half of a batch in a forked child: its result, its error, its death."""

from __future__ import annotations

import os

import pytest
from kaico.cli.forked import Forked, cores, halves


def _squares(items):
    return [i * i for i in items]


def test_the_childs_result_comes_back_computed_in_another_process():
    parent = os.getpid()
    with Forked(lambda items: (os.getpid(), _squares(items)), range(5)) as child:
        pid, squares = child.result()
    assert squares == [0, 1, 4, 9, 16]
    assert pid != parent


def test_the_childs_exception_is_raised_here():
    def fails(items):
        raise ValueError(f"bad item {items[0]}")

    with Forked(fails, [7]) as child, pytest.raises(ValueError, match="bad item 7"):
        child.result()


def test_a_child_that_dies_without_a_result_has_its_half_computed_here():
    parent = os.getpid()

    def dies_in_the_child(items):
        if os.getpid() != parent:
            os._exit(3)
        return _squares(items)

    with Forked(dies_in_the_child, [2, 3]) as child:
        assert child.result() == [4, 9]


def test_leaving_without_the_result_stops_and_reaps_the_child():
    def sleeps(items):
        import time

        time.sleep(60)
        return items

    with pytest.raises(RuntimeError), Forked(sleeps, [1]) as child:
        pid = child._child
        raise RuntimeError("this process's half failed")
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no such child


def test_nothing_to_do_forks_nothing():
    with Forked(_squares, []) as child:
        assert child._child == -1
        assert child.result() == []


def test_halves_split_only_from_the_given_size():
    assert halves(list(range(5)), 10) == (list(range(5)), ())
    if cores() < 2:  # one core: never split
        assert halves(list(range(11)), 10) == (list(range(11)), ())
        return
    first, second = halves(list(range(11)), 10)
    assert (list(first), list(second)) == (list(range(5)), list(range(5, 11)))
    first, second = halves(list(range(11)), 10, head_start=3)
    assert (list(first), list(second)) == (list(range(4)), list(range(4, 11)))
    assert halves(list(range(11)), 10, head_start=100) == ([], list(range(11)))


def test_a_process_with_other_threads_does_not_split():
    import threading

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert halves(list(range(11)), 10) == (list(range(11)), ())
    finally:
        release.set()
        other.join()
    assert bool(halves(list(range(11)), 10)[1]) == (cores() > 1)
