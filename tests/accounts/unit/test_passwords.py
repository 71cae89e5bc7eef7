"""Argon2 hashes: the right password passes, a wrong one and an unknown account fail alike
(the unknown one still costs a hash check), old parameters are upgraded on sign-in."""

from __future__ import annotations

import time

from pwdlib.hashers.argon2 import Argon2Hasher

from boxoffice.accounts.passwords import Passwords

#: Cheap parameters: the rules are the same, the tests stay fast on a shared machine.
CHEAP = Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1)


async def test_the_right_password_passes_and_a_wrong_one_fails() -> None:
    passwords = Passwords(CHEAP)
    stored = await passwords.hash("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert (await passwords.verify("correct horse battery", stored)).ok
    assert not (await passwords.verify("correct horse batterY", stored)).ok


async def test_an_unknown_account_costs_a_hash_check_and_fails() -> None:
    passwords = Passwords(Argon2Hasher(time_cost=2, memory_cost=8192, parallelism=1))
    stored = await passwords.hash("correct horse battery")
    await passwords.verify("warm-up", None)  # the dummy hash is made once, on first use

    async def timed(stored: str | None) -> float:
        start = time.perf_counter()
        assert not (await passwords.verify("wrong password!", stored)).ok
        return time.perf_counter() - start

    wrong = min([await timed(stored) for _ in range(3)])
    unknown = min([await timed(None) for _ in range(3)])
    # The same work: far closer than the cost of one check (a skipped check would be ~0).
    assert unknown > wrong / 3


async def test_even_the_dummy_password_does_not_match_an_unknown_account() -> None:
    passwords = Passwords(CHEAP)
    await passwords.verify("x", None)
    assert passwords._dummy is not None
    assert not (
        await passwords.verify("not a password: unknown accounts are checked on this", None)
    ).ok


async def test_a_hash_with_old_parameters_is_replaced_on_sign_in() -> None:
    old = await Passwords(CHEAP).hash("correct horse battery")
    stronger = Passwords(Argon2Hasher(time_cost=2, memory_cost=2048, parallelism=1))
    checked = await stronger.verify("correct horse battery", old)
    assert checked.ok and checked.rehashed is not None and checked.rehashed != old
    assert (await stronger.verify("correct horse battery", checked.rehashed)).rehashed is None
