"""How hard each scenario pushes: a short run inside `make test`, the full run with `make chaos`
(which sets BOXOFFICE_CHAOS=full). The full counts are the issue's minimums."""

from __future__ import annotations

import os
from dataclasses import dataclass

FULL_ENV = "BOXOFFICE_CHAOS"


@dataclass(frozen=True)
class Sizes:
    kills_per_step: int
    temporal_restarts: int
    temporal_load: int
    postgres_stops: int
    reservations_per_stop: int
    stripe_rounds: int
    outage_rounds: int
    abandoned_holds: int
    model_examples: int
    model_steps: int
    #: An event cancelled under kills: its completed orders, and its held ones.
    cancel_completed: int
    cancel_held: int
    #: An API process SIGKILLed mid-create: rounds per kill point, and other buyers of the
    #: same seats meanwhile (through the cluster's API).
    api_kill_rounds: int
    api_kill_buyers: int
    #: Whether a seat back later than `RELEASE_BOUND` after its hold's expiry is a violation.
    #: The issue asks for "within seconds" in `make chaos`; in `make test` the lag is only
    #: reported, as speed is judged by benchmarks, never by the test suite.
    judge_release_lag: bool


SHORT = Sizes(
    kills_per_step=1,
    temporal_restarts=1,
    temporal_load=6,
    postgres_stops=1,
    reservations_per_stop=8,
    stripe_rounds=1,
    outage_rounds=1,
    abandoned_holds=40,
    model_examples=2,
    model_steps=8,
    cancel_completed=10,
    cancel_held=3,
    api_kill_rounds=1,
    api_kill_buyers=6,
    judge_release_lag=False,
)
FULL = Sizes(
    kills_per_step=20,
    temporal_restarts=5,
    temporal_load=30,
    postgres_stops=10,
    reservations_per_stop=20,
    stripe_rounds=5,
    outage_rounds=3,
    abandoned_holds=1000,
    model_examples=25,
    model_steps=20,
    cancel_completed=80,
    cancel_held=20,
    api_kill_rounds=10,
    api_kill_buyers=60,
    judge_release_lag=True,
)


def sizes() -> Sizes:
    return FULL if os.environ.get(FULL_ENV) == "full" else SHORT
