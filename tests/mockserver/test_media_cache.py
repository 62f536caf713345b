"""RenderCache: bounded by bytes, least recently used evicted first, one render per key across threads."""

from __future__ import annotations

import threading

import pytest

from runapi_mock.media import RenderCache


def test_it_evicts_the_least_recently_used_past_its_bound() -> None:
    cache = RenderCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # now "b" is the least recently used
    cache.put("c", b"1234")
    assert "b" not in cache and "a" in cache and "c" in cache
    assert (len(cache), cache.total_bytes) == (2, 8)
    cache.put("a", b"12")  # replacing counts the new size only
    assert cache.total_bytes == 6


def test_a_file_larger_than_the_bound_is_served_but_not_kept() -> None:
    cache = RenderCache(max_bytes=10)
    cache.put("small", b"12345")
    assert cache.get_or_render("huge", lambda: b"x" * 11) == b"x" * 11
    assert "huge" not in cache and "small" in cache
    with pytest.raises(ValueError):
        RenderCache(max_bytes=-1)


def test_concurrent_requests_for_one_key_render_it_once() -> None:
    cache = RenderCache()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def render() -> bytes:
        calls.append(1)
        started.set()
        release.wait(timeout=30)
        return b"video"

    results: list[bytes] = []
    owner = threading.Thread(target=lambda: results.append(cache.get_or_render("k", render)))
    owner.start()
    started.wait(timeout=30)  # the owner is inside render(): the key is pending
    others = [threading.Thread(target=lambda: results.append(cache.get_or_render("k", render))) for _ in range(4)]
    for thread in others:
        thread.start()
    release.set()
    for thread in [owner, *others]:
        thread.join(timeout=30)
    assert results == [b"video"] * 5
    assert len(calls) == 1


def test_a_failed_render_raises_and_is_not_cached() -> None:
    cache = RenderCache()

    def broken() -> bytes:
        raise RuntimeError("encoder failed")

    with pytest.raises(RuntimeError, match="encoder failed"):
        cache.get_or_render("k", broken)
    assert "k" not in cache
    assert cache.get_or_render("k", lambda: b"ok") == b"ok"
