"""The HTTP middleware's series: each request counted under its route template and status,
and POST /orders timed by the reservation's outcome (the series are looked up once each)."""

from __future__ import annotations

from boxoffice.core.observability.metrics import ApiMetrics


def test_each_request_is_counted_in_its_own_series() -> None:
    metrics = ApiMetrics(process_collectors=False)
    for _ in range(3):
        metrics.observe_request("POST", "/orders", 409, 0.002)
    metrics.observe_request("POST", "/orders", 201, 0.2)
    metrics.observe_request("GET", "/orders/{order_id}", 202, 0.01)
    value = metrics.registry.get_sample_value
    creates = {"method": "POST", "route": "/orders"}
    assert value("boxoffice_http_requests_total", {**creates, "status": "409"}) == 3
    assert value("boxoffice_http_requests_total", {**creates, "status": "201"}) == 1
    assert value("boxoffice_http_request_duration_seconds_count", creates) == 4
    assert value("boxoffice_reservation_seconds_count", {"outcome": "sold_out"}) == 3
    assert value("boxoffice_reservation_seconds_count", {"outcome": "reserved"}) == 1
    # A 202 of another route is no reservation.
    assert value("boxoffice_reservation_seconds_count", {"outcome": "undecided"}) is None
