"""Queue kinds sharing a task queue (`worker_queues.py`): refused when a worker would hold only
some of them, and never for payments, whose rate limit is the whole queue's. And the workflows
the workers run without the SDK's sandbox: ruff refuses clocks and randomness in their code and
in the helpers they run, and none of it uses a builtin that does I/O."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import ValidationError
from temporalio.client import Client

from boxoffice.core.settings import Settings
from boxoffice.core.temporal import search_attributes
from boxoffice.events.lifecycle import messages as event_run_messages
from boxoffice.orders import domain, messages
from boxoffice.orders.reconciliation import messages as reconciliation_messages
from boxoffice.orders.reconciliation import rules
from boxoffice.worker_queues import (
    PURCHASES_WORKFLOWS,
    VERSIONED_PURCHASES_WORKFLOWS,
    build_workers,
)

REPO = Path(__file__).resolve().parents[3]
RUFF = str(Path(sys.executable).with_name("ruff"))


def test_payments_keeps_a_queue_of_its_own() -> None:
    with pytest.raises(ValidationError, match="TASK_QUEUE_PAYMENTS must be a queue of its own"):
        Settings(task_queue_payments="purchases")
    with pytest.raises(ValidationError, match="TASK_QUEUE_PAYMENTS must be a queue of its own"):
        Settings(task_queue_fulfilment="shared", task_queue_payments="shared")


@pytest.mark.parametrize("alone", ["purchases", "fulfilment"])
def test_a_worker_holding_half_a_shared_queue_is_refused(alone: str) -> None:
    settings = Settings(task_queue_fulfilment="purchases")
    no_client = cast(Client, None)  # refused before any worker is made
    sessions: Any = None
    with pytest.raises(ValueError, match="share the task queue 'purchases'") as refused:
        build_workers(no_client, settings, [alone], sessions)
    assert "--queues fulfilment,purchases" in str(refused.value)


#: The modules whose functions the workflows call (pure rules and messages): their code runs as
#: workflow code too.
WORKFLOW_HELPERS = (
    domain,
    messages,
    rules,
    reconciliation_messages,
    event_run_messages,
    search_attributes,
)


def _workflow_modules() -> set[Path]:
    """The files of every workflow the purchases queue runs, of the classes it inherits, and of
    the helpers it runs (a package: each of its modules)."""
    files: set[Path] = set()
    for helper in WORKFLOW_HELPERS:
        path = Path(inspect.getfile(helper)).resolve()
        files |= set(path.parent.glob("*.py")) if path.name == "__init__.py" else {path}
    for workflow_class in [*PURCHASES_WORKFLOWS, *VERSIONED_PURCHASES_WORKFLOWS]:
        for cls in inspect.getmro(workflow_class):
            if cls.__module__.startswith("boxoffice."):
                files.add(Path(inspect.getfile(cls)).resolve())
    return files


@pytest.mark.parametrize(
    "path", sorted(_workflow_modules()), ids=lambda path: str(path.relative_to(REPO))
)
def test_workflow_code_outside_the_sandbox_is_checked_for_clocks_and_randomness(
    path: Path,
) -> None:
    # The workers run workflows unsandboxed (`build_workers`): ruff's banned calls must cover
    # every module their code lives in, or a clock read there would pass unnoticed.
    probe = "import random\nfrom datetime import datetime\n\nNOW = datetime.now()\n"
    checked = subprocess.run(
        [RUFF, "check", "--select", "TID251", "--stdin-filename", str(path.relative_to(REPO))],
        input=probe,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "`random` is banned" in checked.stdout
    assert "`datetime.datetime.now` is banned" in checked.stdout


#: Builtins that reach outside the workflow (files, the terminal, code made at run time). Ruff's
#: banned calls cannot name a builtin (astral-sh/ruff#10079), so this test looks for them.
IO_BUILTINS = {"open", "print", "input", "breakpoint", "exec", "eval", "compile", "__import__"}


def _io_builtins(source: str) -> list[str]:
    """Each use of one of IO_BUILTINS in `source` (called or passed on), with its line."""
    return [
        f"{node.lineno}: {node.id}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Name) and node.id in IO_BUILTINS
    ]


@pytest.mark.parametrize(
    "path", sorted(_workflow_modules()), ids=lambda path: str(path.relative_to(REPO))
)
def test_workflow_code_uses_no_builtin_that_does_io(path: Path) -> None:
    assert not _io_builtins(path.read_text())


def test_the_builtins_check_sees_a_call_and_a_reference() -> None:
    probe = "def run(name):\n    log = print\n    return open(name).read()\n"
    assert _io_builtins(probe) == ["2: print", "3: open"]
