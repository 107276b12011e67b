"""Tool-call episodes the crystallize tests learn from: deploys of a service at a tag, and backups."""

from pipeline.episodes import Episode, EpisodeTrace, Outcome, ToolCall

DEPLOYS = [("api", "1.4.2"), ("billing", "2.0.1"), ("auth", "3.1.0"), ("search", "0.9.7"), ("payments", "5.2.0")]


def episode(episode_id, task, calls, outcome=Outcome.SUCCESS, vector=None):
    traces = tuple(EpisodeTrace(f"{episode_id}-t{k}", "tool_call", tool=c) for k, c in enumerate(calls))
    return Episode(episode_id, task, outcome, traces, task_vector=vector)


def deploy_calls(service, tag, replicas=3):
    image = f"registry.local/{service}:{tag}"
    return [
        ToolCall("build", {"service": service, "tag": tag, "dockerfile": "Dockerfile"}, "built", "ok"),
        ToolCall("run_tests", {"service": service, "suite": "smoke"}, "42 passed", "ok"),
        ToolCall("push", {"image": image}, "pushed", "ok"),
        ToolCall("rollout", {"service": service, "image": image, "replicas": replicas, "namespace": "prod"},
                 "rolled out", "ok"),
    ]


def deploy(n, service, tag, **kw):
    return episode(f"ep-{n:02d}", f"Deploy the {service} service with tag {tag}", deploy_calls(service, tag, **kw))


def backup(n, db):
    return episode(f"bk-{n:02d}", f"Back up the {db} database", [
        ToolCall("pg_dump", {"database": db, "format": "custom"}, "dumped", "ok"),
        ToolCall("upload", {"bucket": "backups", "file": f"/tmp/{db}.dump"}, "uploaded", "ok"),
    ])
