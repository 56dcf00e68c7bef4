"""The ``mercato`` command line: serve, migrate, demo, import-catalog, create-admin, feed model/train."""

from __future__ import annotations

import asyncio
import getpass
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import click
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mercato.accounts import repository as accounts_repo
from mercato.accounts import service
from mercato.accounts.schemas import RegisterIn
from mercato.app import JOB_MODULES  # noqa: F401  (importing the app registers its scheduled jobs)
from mercato.catalog import importing
from mercato.catalog import repository as catalog_repo
from mercato.catalog.importers import FORMATS
from mercato.config import get_settings
from mercato.demo import seed, seed_if_empty
from mercato.feed import ranker
from mercato.feed import ranker_repository as ranker_repo
from mercato.feed.models import FeedModel
from mercato.kit.db import Database
from mercato.kit.errors import AppError
from mercato.kit.jobs import JobRunner, run_all_once
from mercato.kit.migrate import upgrade

console = Console(stderr=True)


@click.group()
def main() -> None:
    """Mercato: community commerce you can host yourself."""


@main.command()
def migrate() -> None:
    """Apply database migrations (DATABASE_URL) up to the newest one."""
    settings = get_settings()
    upgrade(settings.database_url)
    console.print(f"[green]Database is up to date[/] ({_safe_url(settings.database_url)})")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="App processes (use PostgreSQL for >1)")
@click.option("--demo/--no-demo", default=False, help="Seed the demo world first if the database is empty")
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Migrate, optionally seed the demo world, and serve the web app and API."""
    settings = get_settings()
    upgrade(settings.database_url)
    viewers = None
    if demo:
        asyncio.run(seed_if_empty(settings, console))
        os.environ["MERCATO_LIVE_DEMO"] = "1"  # the app process running the ingest feeds the demo LIVE
        get_settings.cache_clear()  # the app (mercato.asgi) reads the settings again, with it
        # Demo viewers chat, like and buy in the demo LIVE through the real room (demo_live_viewers.py).
        viewers = subprocess.Popen([sys.executable, "-m", "mercato.demo_live_viewers",
                                    "--base", f"http://{host}:{port}"])
    console.print(f"[bold]Mercato[/] on http://{host}:{port}  ({_safe_url(settings.database_url)})")
    try:
        uvicorn.run("mercato.asgi:app", host=host, port=port, workers=workers, proxy_headers=False,
                    log_level="warning", access_log=False)
    finally:
        if viewers is not None:
            viewers.terminate()
            viewers.wait(timeout=10)


@main.command()
@click.option("--force", is_flag=True, help="Seed even if the database already has users")
def demo(force: bool) -> None:
    """Seed the deterministic demo world (shops, products, creators, shoppers, follows)."""
    settings = get_settings()
    upgrade(settings.database_url)
    asyncio.run(seed(settings, console) if force else seed_if_empty(settings, console))


@main.command("import-catalog")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--shop", "shop_slug", required=True, help="Slug of the shop that receives the products")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default=None, help="Detected when omitted")
@click.option("--combinations", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="PrestaShop combinations CSV that goes with FILE")
@click.option("--show-rows/--no-show-rows", default=False, help="Print every row of the report")
def import_catalog(file: Path, shop_slug: str, fmt: str | None, combinations: Path | None, show_rows: bool) -> None:
    """Import a catalog FILE into a shop (idempotent), with a progress bar and a per-row report."""
    settings = get_settings()
    upgrade(settings.database_url)
    code = asyncio.run(_import(settings.database_url, file, shop_slug, fmt, combinations, show_rows))
    sys.exit(code)


async def _import(url: str, file: Path, slug: str, fmt: str | None, combinations: Path | None, show_rows: bool) -> int:
    db = Database(url, pool=False)
    try:
        async with db.unit_of_work() as session:
            shop = await catalog_repo.shop_by_slug(session, slug)
            if shop is None:
                console.print(f"[red]No shop with slug {slug!r}.[/]")
                return 2
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console) as progress:
                task = progress.add_task(f"Importing {file.name}", total=None)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                data = await asyncio.to_thread(file.read_bytes)
                extra = await asyncio.to_thread(combinations.read_bytes) if combinations else None
                try:
                    run = await importing.run_import(
                        session, shop, data, file.name, fmt=fmt, combinations=extra, progress=advance,
                    )
                except AppError as exc:
                    console.print(f"[red]{exc.message}[/]")
                    return 2
            out = Console()
            out.print(f"[bold]{file.name}[/] ({run.format}) → shop {shop.slug}: "
                      f"[green]{run.created} created[/], [cyan]{run.updated} updated[/], "
                      f"{run.unchanged} unchanged, [red]{run.rejected} rejected[/]")
            for row in run.report:
                if show_rows or row["outcome"] in ("rejected", "warning"):
                    out.print(f"  row {row['row']:>4}  {row['outcome']:<9} {row['external_id'] or '':<24} "
                              f"{row['reason'] or row['title'] or ''}", markup=False, highlight=False)
            return 0
    finally:
        await db.dispose()


@main.command()
@click.option("--once", is_flag=True, help="Run every job once and exit (for cron)")
def jobs(once: bool) -> None:
    """Run the scheduled jobs: reservation expiry, return auto-approval, settlement, held
    payouts, sandbox webhooks. Safe beside app processes that run them too."""
    settings = get_settings()
    upgrade(settings.database_url)
    asyncio.run(_jobs(settings.database_url, once))


async def _jobs(url: str, once: bool) -> None:
    settings = get_settings()
    db = Database(url)
    try:
        if once:
            for name, handled in (await run_all_once(db, settings)).items():
                console.print(f"{name}: {handled}")
            return
        runner = JobRunner(db, settings)
        runner.start()
        console.print("Running jobs; Ctrl-C to stop.")
        await asyncio.Event().wait()
    finally:
        await db.dispose()


@main.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", "display_name", default="Operator", show_default=True)
@click.option("--password", default=None, help="Prompted for when omitted (or read from MERCATO_ADMIN_PASSWORD)")
def create_admin(email: str, display_name: str, password: str | None) -> None:
    """Create an operator account, or grant the operator role to an existing one."""
    settings = get_settings()
    upgrade(settings.database_url)
    password = password or os.environ.get("MERCATO_ADMIN_PASSWORD")
    if password is None and sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    sys.exit(asyncio.run(_create_admin(settings.database_url, email, display_name, password)))


async def _create_admin(url: str, email: str, display_name: str, password: str | None) -> int:
    db = Database(url, pool=False)
    try:
        async with db.unit_of_work() as session:
            user = await accounts_repo.user_by_email(session, email)
            if user is None:
                if not password:
                    console.print("[red]A new operator needs a password (--password or MERCATO_ADMIN_PASSWORD).[/]")
                    return 2
                try:
                    body = RegisterIn(email=email, password=password, display_name=display_name,
                                      date_of_birth=date(1990, 1, 1))
                    user = await service.register(session, body, get_settings())
                except (ValidationError, AppError) as exc:
                    console.print(f"[red]{exc}[/]")
                    return 2
            user.is_admin = True
        console.print(f"[green]{email} is an operator.[/]")
        return 0
    finally:
        await db.dispose()


@main.group()
def feed() -> None:
    """The For You feed's learned ranker (docs/feed.md, "The learned ranker")."""


@feed.command("model")
@click.option("--last", default=5, show_default=True, help="Training runs listed")
def feed_model(last: int) -> None:
    """Which model ranks the feed, when it was trained and how it scored, and the last runs."""
    settings = get_settings()
    upgrade(settings.database_url)
    asyncio.run(_feed_model(settings.database_url, last))


@feed.command("train")
def feed_train() -> None:
    """Train the learned ranker now (what the train_feed_ranker job does when it is due)."""
    settings = get_settings()
    upgrade(settings.database_url)
    asyncio.run(_feed_train(settings.database_url))


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _describe(model: FeedModel) -> str:
    return (f"#{model.id} {model.status}, trained {model.trained_at:%Y-%m-%d %H:%M:%S} UTC on "
            f"{model.train_examples} examples, validated on {model.validation_examples} ({model.positives} "
            f"positives in all): validation NDCG {_score(model.val_ndcg)} "
            f"(hand weights {_score(model.hand_val_ndcg)}), "
            f"AUC {_score(model.val_auc)} (hand weights {_score(model.hand_val_auc)})"
            + (f"; {model.note}" if model.note else ""))


async def _feed_model(url: str, last: int) -> None:
    db = Database(url, pool=False)
    try:
        async with db.unit_of_work(write=False) as session:
            current = await ranker_repo.promoted_model(session)
            runs = await ranker_repo.recent_models(session, last)
        if current is None:
            click.echo("In use: the hand weights (feed_weight_* settings): no model promoted yet.")
        else:
            click.echo(f"In use: model {_describe(current)}")
            click.echo("Feature        coefficient  importance")
            for name, coef, imp in zip(current.feature_names, current.coefficients, current.importances, strict=True):
                click.echo(f"{name:<14} {coef:>11.4f}  {imp:>10.1%}")
        click.echo(f"Last {len(runs)} training runs:")
        for run in runs:
            click.echo(f"  {_describe(run)}")
    finally:
        await db.dispose()


async def _feed_train(url: str) -> None:
    settings = get_settings()
    db = Database(url, pool=False)
    try:
        async with db.unit_of_work() as session:
            model = await ranker.train(session, settings)
            click.echo(f"Trained: {_describe(model)}")
    finally:
        await db.dispose()


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":
    main()
