"""Every query on orders and what hangs off them (holds, payments, refunds, admissions, limits).
The caller owns the transaction: nothing here commits."""
