"""`python -m bench.naive.worker`: the naive baseline's worker, in a process of its own on the
same Temporal server, as the samples' run_worker.py. SDK defaults throughout (default data
converter, no codec, default Worker options); the one addition is a Prometheus endpoint
(NAIVE_METRICS_PORT), so its steps are measured as ours are. Everything else comes from the
stack's environment (the same DATABASE_URL, STRIPE_API_BASE, S3_*, SMTP_URL, signing key)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import boto3
import stripe
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from bench.naive.activities import NaiveActivities
from bench.naive.messages import READY, TASK_QUEUE
from bench.naive.workflow import NaivePurchaseWorkflow
from boxoffice.core.database.engine import sqlalchemy_url
from boxoffice.core.s3 import ensure_bucket
from boxoffice.core.settings import LOCAL_STRIPE_KEY
from boxoffice.orders.tickets.codes import TicketSigner, load_or_create_signing_key


async def serve() -> None:
    env = os.environ
    runtime = Runtime(
        telemetry=TelemetryConfig(
            # Seconds, as our workers report them (the SDK's default is milliseconds).
            metrics=PrometheusConfig(
                bind_address=f"127.0.0.1:{env['NAIVE_METRICS_PORT']}", durations_as_seconds=True
            )
        )
    )
    client = await Client.connect(env["TEMPORAL_ADDRESS"], runtime=runtime)
    engine = create_async_engine(sqlalchemy_url(env["DATABASE_URL"]))
    s3 = boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name="us-east-1")
    ensure_bucket(s3, env["S3_BUCKET"])
    steps = NaiveActivities(
        engine,
        stripe.StripeClient(LOCAL_STRIPE_KEY, base_addresses={"api": env["STRIPE_API_BASE"]}),
        s3,
        env["S3_BUCKET"],
        env["SMTP_URL"],
        TicketSigner(load_or_create_signing_key(Path(env["TICKET_SIGNING_KEY_FILE"]))),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    worker = Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[NaivePurchaseWorkflow],
        activities=[
            steps.reserve,
            steps.charge,
            steps.issue_tickets,
            steps.store_pdf,
            steps.email_tickets,
        ],
    )
    try:
        async with worker:
            print(READY, flush=True)
            await stop.wait()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(serve())
