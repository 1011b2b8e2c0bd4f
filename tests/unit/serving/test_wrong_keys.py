"""The wrong-key allowance of each client address, on a clock the test moves."""

from __future__ import annotations

from shipyard.serving.wrong_keys import WrongKeys

RIGHT, GUESS = b"r" * 32, b"g" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_address_waits_once_its_allowance_is_spent_and_gets_it_back_over_time() -> None:
    clock = Clock()
    keys = WrongKeys(burst=3, refill_s=6.0, clock=clock)
    for _ in range(3):
        assert keys.wait_s("a", GUESS) is None
        keys.wrong("a")
    assert keys.wait_s("a", GUESS) == 6
    assert keys.wait_s("b", GUESS) is None  # another address is not concerned
    clock.now = 4.0
    assert keys.wait_s("a", GUESS) == 2  # Retry-After counts down
    clock.now = 6.0
    assert keys.wait_s("a", GUESS) is None  # one more guess allowed, not three
    keys.wrong("a")
    assert keys.wait_s("a", GUESS) == 6


def test_a_key_right_from_an_address_passes_while_it_waits() -> None:
    keys = WrongKeys(burst=1, clock=Clock())
    keys.right("a", RIGHT)
    keys.wrong("a")
    assert keys.wait_s("a", RIGHT) is None and keys.wait_s("a", GUESS) is not None


def test_the_addresses_tracked_are_bounded() -> None:
    keys = WrongKeys(burst=1, max_addresses=100, clock=Clock())
    for i in range(1000):
        keys.wrong(f"10.0.{i // 256}.{i % 256}")
    assert len(keys._addresses) == 100
    assert keys.wait_s("10.0.3.231", GUESS) is not None  # the latest are kept
    assert keys.wait_s("10.0.0.0", GUESS) is None  # the oldest forgotten: a full allowance


def test_the_project_sets_the_allowance_and_the_keys_use_it() -> None:
    from shipyard.config.schema import ServingConfig
    from shipyard.serving.auth import ApiKeys

    config = ServingConfig(wrong_keys_burst=2, wrong_keys_refill_s=30.0)
    keys = ApiKeys(["k" * 20], WrongKeys.of(config))
    for _ in range(2):
        assert keys.wrong_keys.wait_s("a", GUESS) is None
        keys.wrong_keys.wrong("a")
    assert keys.wrong_keys.wait_s("a", GUESS) == 30
    assert ApiKeys(["k" * 20]).wrong_keys.burst == ServingConfig().wrong_keys_burst == 10
