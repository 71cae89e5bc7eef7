"""The workflows of an order (deterministic code only): PurchaseWorkflow, RefundLatePayment,
and the options every activity call takes."""
