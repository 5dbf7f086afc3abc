"""Database work from many streams goes to the database together (issue 9)."""

from __future__ import annotations

import asyncio

import pytest
from django.db import connection

from streamui.group_commit import GroupCommit
from streamui.models import Conversation

pytestmark = pytest.mark.django_db(transaction=True)


def _create(title: str) -> int:
    return Conversation.objects.create(title=title, session_key="s").pk


def _fail() -> None:
    Conversation.objects.create(title="half-written", session_key="s")
    raise ValueError("this job fails")


async def test_jobs_queued_together_share_one_transaction_and_a_failing_job_fails_alone() -> None:
    writer = GroupCommit()
    first = asyncio.ensure_future(writer.run(lambda: _create("alone")))
    await asyncio.sleep(0)  # the first batch is on its way to the database thread
    jobs = [writer.run(lambda i=i: _create(f"c{i}")) for i in range(40)]
    failing = writer.run(_fail)
    results = await asyncio.gather(first, *jobs, failing, return_exceptions=True)
    assert isinstance(results[-1], ValueError)
    assert all(isinstance(pk, int) for pk in results[:-1])
    # 42 jobs, but the 41 queued while the first ran went in at most a couple of commits.
    assert writer.jobs == 42
    assert writer.batches <= 3
    titles = {c.title async for c in Conversation.objects.all()}
    assert "half-written" not in titles  # the failing job's savepoint was rolled back, the others kept
    assert {"alone", *(f"c{i}" for i in range(40))} <= titles


async def test_a_jobs_database_error_reaches_its_caller_and_the_writer_keeps_working() -> None:
    writer = GroupCommit()

    def broken() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    outcome = await asyncio.gather(writer.run(broken), return_exceptions=True)
    assert "no_such_table" in str(outcome[0])
    assert await writer.run(lambda: _create("after")) > 0  # the writer still works
