"""The S3 client and the one object layout we use: a fixed key per order, so a retried store
overwrites instead of adding."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType

    from boxoffice.core.settings import Settings


def make_s3_client(settings: Settings) -> S3Client:
    """A client that fails fast: Temporal retries the activity, so botocore must not retry."""
    config = Config(
        region_name=settings.s3_region,
        # total_max_attempts=1 is one try; botocore's `max_attempts` counts retries after it.
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=30,
        # Local S3 servers (moto, MinIO) answer on one host name, not one per bucket.
        s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
    )
    return boto3.client("s3", endpoint_url=settings.s3_endpoint_url, config=config)


def ensure_bucket(client: S3Client, bucket: str) -> None:
    """Create the bucket unless it exists. Safe to run at every start."""
    try:
        client.head_bucket(Bucket=bucket)
        return
    except ClientError as error:
        if _error_code(error) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    region = client.meta.region_name
    try:
        if region and region != "us-east-1":
            client.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={
                    "LocationConstraint": cast("BucketLocationConstraintType", region)
                },
            )
        else:
            client.create_bucket(Bucket=bucket)
    except ClientError as error:
        if _error_code(error) != "BucketAlreadyOwnedByYou":
            raise


def tickets_pdf_key(order_id: str) -> str:
    return f"orders/{order_id}/tickets.pdf"


def read_object(client: S3Client, bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None if there is no such object."""
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if _error_code(error) in ("NoSuchKey", "404"):
            return None
        raise
    with response["Body"] as body:
        return body.read()


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
