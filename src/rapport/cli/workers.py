"""`rapport worker`, `rapport beat` and `rapport tasks ...`: background work."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import typer
from rich.table import Table

from rapport.cli.output import emit_json, stdout
from rapport.cli.schema_guard import ensure_schema
from rapport.settings import get_settings
from rapport.storage.engine import session_scope
from rapport.workers.errors import WorkerConfigError

tasks_app = typer.Typer(
    help="Background tasks: dead letters (failed for good), replay, queue depths.",
    no_args_is_help=True,
)


def _queues(spec: str | None) -> list[str]:
    from rapport.workers.app import QUEUES, queue_name

    names = [q.strip() for q in (spec or ",".join(QUEUES)).split(",") if q.strip()]
    unknown = [q for q in names if q not in QUEUES]
    if unknown:
        raise WorkerConfigError(
            f"--queues: unknown queue(s) {', '.join(unknown)} (queues: {', '.join(QUEUES)})"
        )
    return [queue_name(q) for q in names]


def worker(
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", min=1, help="Processes (default: one per CPU)."
    ),
    queues: str | None = typer.Option(
        None,
        "--queues",
        "-Q",
        help="Comma-separated queues to consume (default: all): "
        "ingest,analysis,engagement,relationships,channels,outbox,reports,schedule,default.",
    ),
    prefetch: int = typer.Option(
        1,
        "--prefetch",
        min=1,
        help="Messages held per process: 1 for long tasks (the default); more for short ones.",
    ),
    pool: str = typer.Option("prefork", "--pool", help="prefork (default), solo or threads."),
    max_tasks_per_child: int | None = typer.Option(
        None, "--max-tasks-per-child", min=1, help="Recycle a process after N tasks."
    ),
    loglevel: str = typer.Option("INFO", "--loglevel", "-l"),
    hostname: str | None = typer.Option(None, "--hostname", "-n", help="Worker node name."),
    beat: bool = typer.Option(
        False, "--beat", help="Also run beat in this process (one per deployment!)."
    ),
    beat_interval: float = typer.Option(30.0, "--beat-interval", min=1.0),
) -> None:
    """Run a Celery worker. SIGTERM (or Ctrl-C) is a warm shutdown: the tasks
    running finish, the rest stay queued; a killed worker's tasks are redelivered."""
    from rapport.workers.app import get_app
    from rapport.workers.schedule import beat_schedule

    ensure_schema()
    app = get_app()
    app.conf.worker_prefetch_multiplier = prefetch
    prefix = get_settings().queue_prefix
    argv = [
        "worker",
        f"--loglevel={loglevel}",
        f"--queues={','.join(_queues(queues))}",
        f"--pool={pool}",
        f"--hostname={hostname or f'{prefix}-{os.getpid()}@{socket.gethostname()}'}",
        "--without-gossip",
        "--without-mingle",
    ]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if max_tasks_per_child:
        argv.append(f"--max-tasks-per-child={max_tasks_per_child}")
    if beat:
        app.conf.beat_schedule = beat_schedule(beat_interval)
        argv += ["--beat", f"--schedule={_beat_file()}"]
    app.worker_main(argv)


def _beat_file() -> Path:
    path = Path(get_settings().data_dir) / f"celerybeat-{get_settings().queue_prefix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def beat(
    interval: float = typer.Option(
        30.0, "--interval", min=1.0, help="Seconds between two looks at the schedule table."
    ),
    loglevel: str = typer.Option("INFO", "--loglevel", "-l"),
) -> None:
    """Run Celery beat: every --interval seconds it sends the tick that
    dispatches the due jobs of the schedule table. Run exactly one."""
    from rapport.workers.app import get_app
    from rapport.workers.schedule import beat_schedule

    ensure_schema()
    app = get_app()
    app.conf.beat_schedule = beat_schedule(interval)
    app.start(["beat", f"--loglevel={loglevel}", f"--schedule={_beat_file()}"])


@tasks_app.command("failed")
def failed(
    include_replayed: bool = typer.Option(
        False, "--all", help="Also show dead letters already replayed."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Dead letters: tasks that failed for good, with their error."""
    from rapport.workers import queries

    ensure_schema()
    with session_scope() as session:
        items, total = queries.list_dead_letters(
            session, include_replayed=include_replayed, limit=limit
        )
    if json_out:
        emit_json({"items": [i.model_dump(mode="json") for i in items], "total": total})
        return
    table = Table(
        "id", "task", "failed at", "error", "args", "status", title=f"dead letters ({total})"
    )
    for i in items:
        table.add_row(
            str(i.id),
            i.task_name,
            i.failed_at.isoformat(timespec="seconds"),
            f"{i.error_type}: {i.error}"[:100],
            i.args_summary[:60],
            i.status,
        )
    stdout.print(table)


@tasks_app.command("retry")
def retry_cmd(
    ids: list[int] = typer.Argument(None, help="Dead letter ids (see `rapport tasks failed`)."),
    every: bool = typer.Option(False, "--all", help="Replay every waiting dead letter."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Send dead letters' tasks again, with their original arguments (tasks
    are idempotent, so a replay never doubles anything)."""
    from rapport.workers.replay import do_replay_dead_letters

    ensure_schema()
    if not ids and not every:
        raise WorkerConfigError("give dead letter ids, or --all")
    replayed = do_replay_dead_letters(None if every else list(ids))
    if json_out:
        emit_json({"replayed": replayed})
        return
    for item in replayed:
        stdout.print(
            f"dead letter {item['id']}: {item['task_name']} sent again as {item['task_id']}"
        )
    if not replayed:
        stdout.print("nothing to replay")


@tasks_app.command("queues")
def queues_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Messages waiting and consumers attached, per queue (from the broker)."""
    from rapport.workers.replay import queue_depths

    depths = queue_depths()
    if json_out:
        emit_json({"queues": depths})
        return
    table = Table("queue", "messages", "consumers", title="queues")
    for name, figures in depths.items():
        table.add_row(name, str(figures["messages"]), str(figures["consumers"]))
    stdout.print(table)
