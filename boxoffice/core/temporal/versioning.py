"""Temporal Worker Versioning: which deployment version a worker polls as, and whether the
server knows that build.

A build is known once `boxoffice worker --register-build` has run with it: that polls each task
queue once as the new version, so the server lists the version (with its task queues) before any
worker of it serves, and before anyone can make it current. A worker whose build is not listed
(a typo, an image built without its id, a build drained and deleted since) refuses to start:
otherwise the server would silently create a version that no one ever makes current."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Sequence

from temporalio.api.deployment.v1 import WorkerDeploymentVersion as VersionProto
from temporalio.api.workflowservice.v1 import DescribeWorkerDeploymentVersionRequest
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import WorkerDeploymentConfig

from boxoffice.core.settings import Settings
from boxoffice.core.temporal.client import connect


class VersioningError(Exception):
    """A worker's versioning settings or build that it must not start with; one line."""


def worker_version(settings: Settings) -> WorkerDeploymentVersion | None:
    """The version this worker polls as, or None for an unversioned worker (neither set)."""
    name = (settings.worker_deployment_name or "").strip()
    build = (settings.worker_build_id or "").strip()
    if not name and not build:
        return None
    if not build:
        raise VersioningError(
            f"WORKER_DEPLOYMENT_NAME is {name!r} but WORKER_BUILD_ID is not set: "
            "a versioned worker needs the build id of its image"
        )
    if not name:
        raise VersioningError(
            f"WORKER_BUILD_ID is {build!r} but WORKER_DEPLOYMENT_NAME is not set: "
            "set both for a versioned worker, neither for an unversioned one"
        )
    if "." in name:
        raise VersioningError(f"WORKER_DEPLOYMENT_NAME {name!r} must not contain '.'")
    return WorkerDeploymentVersion(name, build)


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """The workers' deployment config. No default behaviour: the SDK then refuses a workflow
    type that does not declare PINNED or AUTO_UPGRADE itself, so none is left to chance."""
    version = worker_version(settings)
    if version is None:
        return None
    return WorkerDeploymentConfig(version=version, use_worker_versioning=True)


def describe_version(version: WorkerDeploymentVersion) -> str:
    return f"build {version.build_id!r} of worker deployment {version.deployment_name!r}"


async def registered_task_queues(client: Client, version: WorkerDeploymentVersion) -> set[str]:
    """The task queues the server lists for `version`; VersioningError if it lists no such
    version, or does not do worker deployments at all."""
    request = DescribeWorkerDeploymentVersionRequest(
        namespace=client.namespace,
        deployment_version=VersionProto(
            deployment_name=version.deployment_name, build_id=version.build_id
        ),
    )
    where = f"Temporal at {client.service_client.config.target_host} (namespace {client.namespace})"
    try:
        response = await client.workflow_service.describe_worker_deployment_version(request)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise VersioningError(
                f"{describe_version(version)} is unknown to {where}; "
                "register it first: boxoffice worker --register-build"
            ) from None
        if error.status in (RPCStatusCode.UNIMPLEMENTED, RPCStatusCode.FAILED_PRECONDITION):
            raise VersioningError(
                f"{where} does not support worker deployments: {error.message}"
            ) from None
        raise
    infos = response.worker_deployment_version_info.task_queue_infos
    return {info.name for info in infos}


async def require_registered(client: Client, version: WorkerDeploymentVersion) -> None:
    """Refuse (VersioningError) unless the server lists `version`."""
    await registered_task_queues(client, version)


async def check_build(settings: Settings) -> None:
    """Before any worker process starts: a versioned worker's build must be one the server
    lists (VersioningError otherwise); an unversioned worker needs nothing."""
    version = worker_version(settings)
    if version is not None:
        await require_registered(await connect(settings), version)


def task_queue_names(settings: Settings, queues: Sequence[str]) -> list[str]:
    """The task queues of the queue kinds `queues` (purchases, payments, fulfilment)."""
    names = {
        "purchases": settings.task_queue_purchases,
        "payments": settings.task_queue_payments,
        "fulfilment": settings.task_queue_fulfilment,
    }
    return [names[queue] for queue in queues]


async def wait_registered(
    client: Client,
    version: WorkerDeploymentVersion,
    task_queues: Collection[str],
    within: float = 30.0,
) -> None:
    """Wait until the server lists `version` with every one of `task_queues` (the pollers of a
    version register it a moment after they first poll)."""
    deadline = time.monotonic() + within
    missing = set(task_queues)
    while True:
        try:
            missing = set(task_queues) - await registered_task_queues(client, version)
        except VersioningError:
            if time.monotonic() > deadline:
                raise
        if not missing:
            return
        if time.monotonic() > deadline:
            raise VersioningError(
                f"{describe_version(version)}: task queue(s) {sorted(missing)} not registered "
                f"after {within:.0f}s"
            )
        await asyncio.sleep(0.5)
