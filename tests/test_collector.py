"""The main job's memory housekeeping: the collector pause must not leave work for the next collection."""

from __future__ import annotations

import gc

from clearsight.collector import collector_paused


class _Node:
    """A container object, so the cyclic collector tracks it."""


def test_collector_is_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_stays_off_when_it_was_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_objects_built_while_paused_leave_the_youngest_generation() -> None:
    # Otherwise the first collection after the pause walks every object the assessment made. The middle
    # generation is never collected here, so only the pause itself can have moved them to the oldest one.
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], 10**9, 10**9)
    try:
        with collector_paused():
            built = [_Node() for _ in range(1000)]
        oldest = {id(obj) for obj in gc.get_objects(generation=2)}
    finally:
        gc.set_threshold(*thresholds)
    assert all(id(obj) in oldest for obj in built)


def test_objects_the_caller_froze_stay_frozen() -> None:
    kept = [_Node() for _ in range(100)]
    gc.freeze()
    try:
        with collector_paused():
            more = [_Node() for _ in range(100)]
        # frozen objects are in no generation; the pause must neither thaw them nor freeze its own
        tracked = {id(obj) for generation in range(3) for obj in gc.get_objects(generation=generation)}
        assert not any(id(obj) in tracked for obj in kept)
        assert all(id(obj) in tracked for obj in more)
    finally:
        gc.unfreeze()
