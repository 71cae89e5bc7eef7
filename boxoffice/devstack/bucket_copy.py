"""moto keeps S3 in memory only: the dev stack copies the bucket to `.data/s3/` on stop and back
on start, so a second `make dev` still has the tickets PDFs of the first."""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def _safe_key_path(root: Path, key: str) -> Path | None:
    """Where an object key lives under root, or None for keys that would escape it."""
    parts = PurePosixPath(key).parts
    if not parts or key.startswith("/") or any(p in ("..", ".", "") for p in parts):
        return None
    return root.joinpath(*parts)


def restore_bucket(s3: S3Client, bucket: str, root: Path) -> int:
    """Upload every file under root to the bucket, keyed by its relative path."""
    count = 0
    if not root.is_dir():
        return 0
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.endswith(".part"):
            continue
        key = path.relative_to(root).as_posix()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})
        count += 1
    return count


def save_bucket(s3: S3Client, bucket: str, root: Path) -> int:
    """Download every object of the bucket to root/<key> (each through a temporary file)."""
    count = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            key = item.get("Key", "")
            target = _safe_key_path(root, key)
            if target is None:
                print(f"boxoffice dev: not saving S3 object with unsafe key {key!r}", flush=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            s3.download_file(bucket, key, str(partial))
            partial.replace(target)
            count += 1
    return count
