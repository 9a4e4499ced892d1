"""The `rapport` console script (also `python -m rapport`)."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from rapport.cli import (
    analysis,
    bench,
    channels,
    conversations,
    db,
    demo,
    engagement,
    insights,
    knowledge,
    network,
    people,
    reports,
    schedule,
    search,
    serve,
    users,
    workers,
    workspace,
)
from rapport.cli.output import stderr
from rapport.errors import RapportError
from rapport.settings import SettingsError


class RapportGroup(TyperGroup):
    """Turns Rapport's own errors (bad input, refused operations) into a
    message on stderr and exit code 1, for every sub-command."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (RapportError, SettingsError) as exc:
            stderr.print(f"[red]error:[/red] {exc}", highlight=False)
            ctx.exit(1)


app = typer.Typer(
    name="rapport",
    cls=RapportGroup,
    help="Rapport: an open-source Social CRM. Listen, understand, decide, respond, relate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    from rapport import pipeline

    pipeline.install()


app.add_typer(db.app, name="db")
app.command("ingest")(conversations.ingest)
app.add_typer(conversations.quarantine_app, name="quarantine")
app.command("report")(reports.report)
app.command("serve")(serve.serve)
app.add_typer(demo.app, name="demo")
app.command("bench")(bench.bench)
app.add_typer(users.app, name="users")
app.command("audit")(users.audit)
app.command("worker")(workers.worker)
app.command("beat")(workers.beat)
app.add_typer(workers.tasks_app, name="tasks")
app.add_typer(network.app, name="network")
app.add_typer(knowledge.app, name="kb")
app.add_typer(channels.app, name="channels")
app.add_typer(schedule.app, name="schedule")
people.app.add_typer(people.role_app, name="role")
app.add_typer(people.app, name="people")
app.add_typer(people.consent_app, name="consent")
app.add_typer(people.sales_app, name="sales")
app.command("analyze")(analysis.analyze)
app.command("reanalyze")(analysis.reanalyze)
app.add_typer(analysis.topics_app, name="topics")
app.add_typer(analysis.intents_app, name="intents")
app.command("eval")(analysis.evaluate)
app.command("search")(search.search)
app.command("inbox")(engagement.inbox)
app.add_typer(engagement.threads_app, name="threads")
app.command("triage")(engagement.triage)
app.command("assign")(engagement.assign)
app.command("claim")(engagement.claim)
app.command("release")(engagement.release)
app.command("reply")(engagement.reply)
app.add_typer(engagement.outbox_app, name="outbox")
app.command("suggest")(engagement.suggest)
app.add_typer(engagement.policy_app, name="policy")
app.add_typer(engagement.teams_app, name="teams")
app.command("sla")(engagement.sla)
app.add_typer(workspace.labels_app, name="labels")
people.app.command("label")(workspace.people_label)
app.add_typer(workspace.notes_app, name="notes")
app.command("notifications")(workspace.notifications)
app.add_typer(workspace.canned_app, name="canned")
app.add_typer(workspace.views_app, name="views")
app.add_typer(workspace.metrics_app, name="metrics")
app.add_typer(insights.insights_app, name="insights")
app.add_typer(insights.alerts_app, name="alerts")
app.add_typer(insights.listen_app, name="listen")


def main() -> None:
    app()
