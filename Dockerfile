# The API and the workers in one image; compose picks the command (API by default).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A non-root user; /data is the one writable place (the ticket signing key when none is given).
RUN useradd --system --create-home --uid 10001 boxoffice \
    && mkdir -p /data \
    && chown boxoffice:boxoffice /data

WORKDIR /app

# Dependencies in their own layer, so a code change does not reinstall them. Only the API's
# and the workers' own: the dev stack (embedded services, test servers) and the gate's picture
# readers are extras this image leaves out (tests/unit/test_production_imports.py).
# The versions are the lock file's (`make lock`), the same ones CI tested.
COPY pyproject.toml requirements.lock ./
RUN pip install -r requirements.lock

COPY boxoffice ./boxoffice
RUN pip install --no-deps . && rm -rf build ./*.egg-info

USER boxoffice
ENV DATA_DIR=/data
EXPOSE 8000

# uvicorn handles SIGTERM itself: in-flight requests finish before it exits.
CMD ["uvicorn", "boxoffice.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
