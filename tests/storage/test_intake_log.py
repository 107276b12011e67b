from storage.intake_log import Failure, IntakeEntry, IntakeLog


def entry(job: str, memory_id: str, op: str = "add") -> IntakeEntry:
    return IntakeEntry(job, op, "agent-a", memory_id, b'{"x":1}')


def test_appended_entries_are_pending_in_order_and_survive_reopening(tmp_path):
    log = IntakeLog(tmp_path / "intake.db")
    seqs = log.append([("job-1", "a", "batch", 3)], [entry("job-1", f"m{i}") for i in range(3)])
    assert seqs == [1, 2, 3]
    log.close()
    reopened = IntakeLog(tmp_path / "intake.db")
    batch = reopened.pending(after_seq=0, limit=10)
    assert batch["seq"].to_pylist() == [1, 2, 3]
    assert batch["memory_id"].to_pylist() == ["m0", "m1", "m2"]
    assert reopened.pending(after_seq=2, limit=10)["seq"].to_pylist() == [3]
    assert reopened.pending_count() == 3


def test_completion_moves_entries_and_job_counters_together(tmp_path):
    log = IntakeLog(tmp_path / "intake.db")
    log.append([("job-1", "a", "batch", 3)], [entry("job-1", f"m{i}") for i in range(3)])
    log.complete([(1, "job-1"), (2, "job-1")], [])
    job = log.job("job-1")
    assert (job.done, job.failed, job.status, job.finished_at) == (2, 0, "running", None)
    log.complete([], [Failure(3, "job-1", "conflict", "version moved")])
    job = log.job("job-1")
    assert (job.done, job.failed, job.status) == (2, 1, "failed")
    assert job.finished_at is not None
    assert log.job_errors("job-1") == [{"id": "m2", "code": "conflict", "message": "version moved"}]
    assert log.pending_count() == 0


def test_completing_twice_counts_once(tmp_path):
    log = IntakeLog(tmp_path / "intake.db")
    log.append([("job-1", "a", "add", 1)], [entry("job-1", "m")])
    log.complete([(1, "job-1")], [])
    log.complete([(1, "job-1")], [])  # a replayed batch reports the same entry again
    assert log.job("job-1").done == 1


def test_latest_add_and_pending_ops_track_one_memory(tmp_path):
    log = IntakeLog(tmp_path / "intake.db")
    log.append([("job-1", "a", "add", 1)], [entry("job-1", "m")])
    log.append([("job-2", "a", "delete", 1)], [entry("job-2", "m", op="delete")])
    assert log.latest_add("agent-a", "m").job_id == "job-1"
    assert log.pending_ops("agent-a", "m") == [(1, "add"), (2, "delete")]
    assert log.latest_add("agent-a", "other") is None


def test_prune_forgets_finished_entries_but_keeps_jobs(tmp_path):
    log = IntakeLog(tmp_path / "intake.db")
    log.append([("job-1", "a", "batch", 2)], [entry("job-1", "m1"), entry("job-1", "m2")])
    log.complete([(1, "job-1")], [])
    assert log.prune(older_than_ms=-1000) == 1
    assert log.state_of([1, 2]) == {2: "pending"}
    assert log.job("job-1").done == 1
