"""Password hashing (Argon2id through pwdlib), off the event loop: a hash costs about half a
second of CPU on purpose, and the API must keep answering meanwhile.

`verify` of an unknown account checks against a dummy hash, so "no such account" and "wrong
password" cost the same time and a caller cannot tell them apart."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher


@dataclass(frozen=True)
class Checked:
    ok: bool
    #: A new hash of the same password when the stored one used older parameters.
    rehashed: str | None = None


class Passwords:
    def __init__(self, hasher: Argon2Hasher | None = None) -> None:
        self._hash = PasswordHash((hasher or Argon2Hasher(),))
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, stored: str | None) -> Checked:
        """Check `password` against `stored`; with None (no account, or no password) spend the
        same time on the dummy hash and say no."""
        if self._dummy is None:
            # Made with the current parameters, so checking against it costs what a real one does.
            self._dummy = await self.hash("not a password: unknown accounts are checked on this")
        target = stored if stored is not None else self._dummy
        ok, rehashed = await asyncio.to_thread(self._hash.verify_and_update, password, target)
        if stored is None:
            return Checked(ok=False)
        return Checked(ok=ok, rehashed=rehashed)
