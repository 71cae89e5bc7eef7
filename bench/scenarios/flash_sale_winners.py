"""The flash sale's winners: how many heard "held" at once (201), how long they waited, and why
they waited that long (the CPU each winner costs the whole stack while the sale runs)."""

from __future__ import annotations

from bench import cpu
from bench.load import LoadResult, latency_summary
from bench.outcome import Row

NAME = "flash_sale"


def winner_rows(ours: LoadResult, before: LoadResult, seats: int) -> list[Row]:
    """How many buyers who got a seat heard so at once (201), not after polling (202), and how
    long their answer took: ours beside the design before it."""
    rows: list[Row] = []
    at_once = {
        name: sum(1 for s in load.samples if s.status == 201)
        for name, load in (("ours", ours), ("before", before))
    }
    rows.append(
        Row(
            NAME,
            f"winners answered 201 at once (of {seats} seats)",
            at_once["ours"],
            "orders",
            seats,
            0.95,
            note="target: 95% of the seats",
        )
    )
    rows.append(
        Row(
            NAME,
            "winners answered 201 at once, design before RESERVE_IN_API",
            at_once["before"],
            "orders",
            seats,
        )
    )
    p50 = {
        name: latency_summary([s.seconds for s in load.samples if s.status in (201, 202)])["p50_ms"]
        for name, load in (("ours", ours), ("before", before))
    }
    rows.append(
        Row(
            NAME,
            "winners' answer p50 (target 1,000 ms)",
            p50["ours"],
            "ms",
            1000.0,
            1.0,
            higher_is_better=False,
        )
    )
    rows.append(
        Row(
            NAME,
            "winners' answer p50, beside the design before",
            p50["ours"],
            "ms",
            p50["before"],
            higher_is_better=False,
        )
    )
    return rows


def winners_phase(
    timeline: cpu.Timeline,
    load: LoadResult,
    start: float,
    spoken_for_at: float,
    concurrency: int,
) -> tuple[list[Row], dict[str, float]]:
    """Why the winners wait: until the first 409 every buyer in flight is a winner, so by
    Little's law their mean wait is the buyers in flight over the winners answered per second.
    On a machine the sale keeps busy that rate is the cores over the CPU every part of the
    stack spends per winner (the runs already started go on beside the answers), measured
    here from the snapshots around the phase."""
    winners = sum(1 for s in load.samples if s.status == 201 and s.end <= spoken_for_at)
    phase = spoken_for_at - start
    spent = timeline.per_unit(start, spoken_for_at, winners)
    if winners == 0 or phase <= 0 or not spent.get("total"):
        return [], {}
    carried = cpu.cores() * 1000 / spent["total"]
    split = ", ".join(
        f"{part} {ms:.0f}"
        for part, ms in spent.items()
        if part not in ("total", "others on the machine") and ms >= 1
    )
    rows = [
        Row(NAME, "winners' phase (to the first 409): winners answered/s", winners / phase, "/s"),
        Row(
            NAME,
            "  CPU per winner, every part of the stack",
            spent["total"],
            "ms",
            higher_is_better=False,
            note=f"ms: {split}",
        ),
        Row(NAME, "  winners/s the cores carry at that CPU", carried, "/s"),
        Row(
            NAME,
            "  Little's law: buyers in flight ÷ that rate (the mean wait it allows)",
            concurrency / carried * 1000,
            "ms",
            1000.0,
            higher_is_better=False,
        ),
    ]
    return rows, spent
