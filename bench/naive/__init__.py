"""The naive baseline of scenario 2: the same purchase written the way Temporal's Python samples
would write it (one workflow, one regular activity per step, SDK defaults), on the same
Postgres, Stripe emulator, S3, SMTP catcher and Temporal server as ours. It measures what our
design buys over the obvious one; `bench/README.md` says what is kept equal and what is not."""
