"""The deployment's part of the one settings class (`settings.Settings` inherits it): which
Temporal Worker Deployment and build a worker belongs to."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class DeploySettings(BaseSettings):
    # Temporal Worker Versioning. Both unset: unversioned workers (`make dev`, the tests). Both
    # set: the worker polls as version WORKER_DEPLOYMENT_NAME.WORKER_BUILD_ID, and refuses to
    # start unless that build was registered (`boxoffice worker --register-build`). One of the
    # two alone is refused at start (`core/temporal/versioning.py` says why in one line).
    worker_deployment_name: str | None = Field(default=None, max_length=200)
    worker_build_id: str | None = Field(default=None, max_length=200)
