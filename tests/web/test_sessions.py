"""The UI's session book (pure: a clock is handed in): expiry, the cap, and CSRF tokens per session."""

from __future__ import annotations

from api.web.sessions import SessionBook


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lives_its_lifetime_and_not_a_second_more():
    clock = Clock()
    book = SessionBook(ttl_s=60, clock=clock)
    session = book.new(authorization="Bearer k")
    clock.now += 59.9
    assert book.get(session.id) is session
    clock.now += 0.1
    assert book.get(session.id) is None and book.get(None) is None


def test_each_session_has_its_own_csrf_token_compared_in_full():
    book = SessionBook(ttl_s=60)
    a, b = book.new(), book.new()
    assert a.id != b.id and a.csrf != b.csrf
    assert a.csrf_matches(a.csrf)
    assert not a.csrf_matches(b.csrf) and not a.csrf_matches(a.csrf[:-1]) and not a.csrf_matches(None)


def test_the_oldest_sessions_go_first_past_the_cap_and_expired_ones_are_swept():
    clock = Clock()
    book = SessionBook(ttl_s=60, max_sessions=2, clock=clock)
    first, second = book.new(), book.new()
    third = book.new()
    assert book.get(first.id) is None and book.get(second.id) is second and book.get(third.id) is third
    clock.now += 61
    book.new()
    assert len(book) == 1  # the expired two left when a new one came
