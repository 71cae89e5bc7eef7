"""Admission control: who may start an order's workflow at all, decided before it starts, so a
flash sale's losers cost none. Nothing is sold here: only the reservation takes a seat."""
