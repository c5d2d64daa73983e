"""The cache's background writer (`Cache.flush_later`): nothing lost, nothing read stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapdown import workers
from mapdown.cache import Cache


def entries(n: int) -> dict[str, dict[str, int]]:
    return {f"deal-{i:04d}": {"score": i} for i in range(n)}


def test_entries_written_later_are_read_meanwhile_and_are_in_the_file_after(
    tmp_path: Path,
) -> None:
    cache = Cache(tmp_path)
    for key, value in entries(500).items():
        cache.put("scores", key, value)
    cache.put_text("site_deals", "page", '{"id":"alpha"}')
    cache.flush_later()
    # while the writer is at work, its entries are still read here
    assert cache.get("scores", "deal-0007") == {"score": 7}
    assert cache.get_text("site_deals", "page") == '{"id":"alpha"}'
    assert cache.has_many("scores", ["deal-0499", "nothing"]) == {"deal-0499"}
    cache.put("scores", "deal-0007", {"score": 70})  # put after: it wins
    cache.close()

    again = Cache(tmp_path)
    found = again.get_many("scores", entries(500))
    assert len(found) == 500
    assert found["deal-0007"] == {"score": 70} and found["deal-0123"] == {"score": 123}
    assert again.get_text("site_deals", "page") == '{"id":"alpha"}'
    again.close()


def test_a_worker_forked_while_the_writer_works_reads_its_entries_and_does_not_wait_for_it(
    tmp_path: Path,
) -> None:
    """A forked worker (a weekly review's) has a connection of its own, reads what the writer
    is writing, and never waits for a process that is its parent's, not its own."""
    cache = Cache(tmp_path)
    cache.put("scores", "alpha", {"score": 40})
    cache.flush_later()

    def work() -> object:
        cache.in_child()
        cache.put("scores", "beta", {"score": 50})
        found = cache.get("scores", "alpha")
        cache.flush()  # would wait for the parent's writer, were it inherited
        return [found, cache.take_pending()]

    kind, answer = workers.collect(workers.fork(work))
    assert kind == "ok", answer
    assert answer[0] == {"score": 40}
    cache.close()
    assert Cache(tmp_path).get("scores", "alpha") == {"score": 40}


def test_without_fork_the_entries_are_written_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "can_fork", lambda: False)
    cache = Cache(tmp_path)
    cache.put("scores", "alpha", {"score": 40})
    cache.flush_later()
    other = Cache(tmp_path)  # another connection: the entry is in the file already
    assert other.get("scores", "alpha") == {"score": 40}
    other.close()
    cache.close()
