"""The `labelstack` command: serve, demo, database and user administration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from labelstack.config import Settings, SettingsError, load_settings
from labelstack.db.enums import Role

app = typer.Typer(help="LabelStack: medical-image annotation platform.", no_args_is_help=True,
                  add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory "
                                              "(default: $LABELSTACK_DATA_DIR or ./labelstack-data).")]


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


def _prepared(data_dir: Path | None) -> Settings:
    """Settings checked, database reachable and migrated; exits with one message otherwise."""
    from labelstack.app import prepare

    settings = _settings(data_dir)
    try:
        prepare(settings)
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    return settings


def _settings(data_dir: Path | None) -> Settings:
    """Settings checked and the data dir writable, nothing else touched."""
    try:
        settings = load_settings(data_dir=data_dir)
        settings.prepare_data_dir()
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    except ValidationError as exc:
        from labelstack.services.errors import validation_message

        raise _fail(f"invalid setting: {validation_message(exc)}") from None
    return settings


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    data_dir: DataDir = None,
) -> None:
    """Migrate the database, then serve the web app and the REST API."""
    from labelstack.app import run

    settings = _prepared(data_dir)
    typer.echo(f"LabelStack on http://{host}:{port}  (data: {settings.data_dir})")
    run(settings, host=host, port=port)


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    data_dir: DataDir = None,
) -> None:
    """Create the data dir, migrate, seed demo users (and sample data), then serve."""
    from labelstack.app import run
    from labelstack.db.session import session_scope
    from labelstack.services.demo.seed import seed_demo

    settings = _prepared(data_dir)
    with session_scope() as session:
        logins = seed_demo(session, settings)
    typer.echo("Demo logins (e-mail / password):")
    for role, email, password in logins:
        typer.echo(f"  {role:<10} {email:<32} {password}")
    typer.echo(f"LabelStack demo on http://{host}:{port}  (data: {settings.data_dir})")
    run(settings, host=host, port=port)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Migrate the schema to the newest revision."""
    from labelstack.db.migrate import current_revision
    from labelstack.db.session import get_engine

    _prepared(data_dir)
    typer.echo(f"database at revision {current_revision(get_engine())}")


@db_app.command("current")
def db_current(data_dir: DataDir = None) -> None:
    """Show the schema revision of the database (without migrating it)."""
    from labelstack.db.migrate import current_revision, head_revision
    from labelstack.db.session import configure

    settings = load_settings(data_dir=data_dir)
    try:
        settings.prepare_data_dir()
        revision = current_revision(configure(settings.resolved_database_url))
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:  # noqa: BLE001  (any driver error: report it plainly)
        raise _fail(f"cannot read the database: {exc}") from None
    head = head_revision()
    state = "up to date" if revision == head else f"head is {head}: run 'labelstack db upgrade'"
    typer.echo(f"{revision or '(empty)'} ({state})")


@users_app.command("create")
def users_create(
    email: str,
    password: Annotated[str, typer.Option(help="At least 8 characters.", prompt=True,
                                          hide_input=True)],
    role: Annotated[list[Role], typer.Option(help="Repeat for several roles.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Create a user with one or more roles."""
    from labelstack.db.session import session_scope
    from labelstack.services.accounts import users
    from labelstack.services.errors import ServiceError, validation_message

    _prepared(data_dir)
    try:
        data = users.UserCreate(email=email, password=password, name=name, roles=role)
        with session_scope() as session:
            user = users.create_user(session, actor=None, data=data)
    except ValidationError as exc:
        raise _fail(validation_message(exc)) from None
    except ServiceError as exc:
        raise _fail(exc.detail) from None
    typer.echo(f"created {user.email} ({user.roles})")


@users_app.command("list")
def users_list(data_dir: DataDir = None) -> None:
    """List all users with their roles."""
    from labelstack.db.session import session_scope
    from labelstack.services.accounts import users

    _prepared(data_dir)
    with session_scope() as session:
        found = users.all_users(session)
    for user in found:
        state = "" if user.is_active else "  (inactive)"
        typer.echo(f"{user.email:<32} {user.name:<24} {user.roles}{state}")


@app.command("import")
def import_images(
    paths: Annotated[list[Path], typer.Argument(help="DICOM files, folders (recursively) or zips.")],
    data_dir: DataDir = None,
) -> None:
    """Import DICOM into the image store (Orthanc when LABELSTACK_DICOMWEB_URL is set)."""
    from labelstack.db.session import session_scope
    from labelstack.services.images import importing as image_import
    from labelstack.services.images.sources import sources_from_paths

    _prepared(data_dir)
    with session_scope() as session:
        report = image_import.import_dicom(session, actor=None, sources=sources_from_paths(paths))
    for item in report.items:
        if item.status in ("rejected", "conflict"):
            typer.secho(f"{item.status:<9} {item.name}: {item.reason}", fg=typer.colors.YELLOW)
        else:
            typer.echo(f"{item.status:<9} {item.name}")
    counts = report.summary
    typer.echo(f"{counts['stored']} stored, {counts['present']} already present, "
               f"{counts['conflict']} in conflict, {counts['rejected']} rejected "
               f"(store: {report.store})")
    if (counts["rejected"] or counts["conflict"]) and not counts["stored"] and not counts["present"]:
        raise typer.Exit(code=1)


export_app = typer.Typer(help="Export final annotations: a dataset zip, DICOM SEG.",
                         no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("dataset")
def export_dataset(
    out: Annotated[Path, typer.Argument(help="The zip to write.", dir_okay=False)],
    label: Annotated[list[str] | None, typer.Option(help="A label name or id; repeat (default: "
                                                         "all).")] = None,
    image: Annotated[list[str] | None, typer.Option(help="A series UID; repeat (default: "
                                                         "all).")] = None,
    images: Annotated[bool, typer.Option(help="Include the image volumes.")] = True,
    data_dir: DataDir = None,
) -> None:
    """Every accepted annotation of the chosen labels and images: NIfTI images and masks with a
    JSON manifest, as one zip."""
    from labelstack.db.session import session_scope
    from labelstack.services.errors import ServiceError
    from labelstack.services.exports import dataset

    _prepared(data_dir)
    out = out.resolve()
    try:
        with session_scope() as session:
            label_ids = dataset.label_ids_for(session, label) if label else None
            series_ids = dataset.series_ids_for(session, image) if image else None
            plan = dataset.plan_dataset(session, actor=None, label_ids=label_ids,
                                        series_ids=series_ids)
            with typer.progressbar(length=plan.files(images=images), label="exporting") as bar:
                def advance(done: int, _total: int) -> None:
                    bar.update(done - bar.pos)

                path, manifest = dataset.export_dataset_file(
                    session, actor=None, label_ids=label_ids, series_ids=series_ids,
                    images=images, progress=advance, directory=out.parent)
        path.replace(out)
    except ServiceError as exc:
        raise _fail(exc.detail) from None
    typer.echo(f"{len(manifest['annotations'])} annotation(s) on {len(manifest['images'])} "
               f"image(s) → {out}")


@export_app.command("seg")
def export_seg(
    annotation_ids: Annotated[list[int], typer.Argument(help="Annotations of one image, one per "
                                                             "label.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The .dcm to write.")] = None,
    store: Annotated[bool, typer.Option(help="Also store it in the image's store (the PACS "
                                             "when LABELSTACK_DICOMWEB_URL is set).")] = False,
    data_dir: DataDir = None,
) -> None:
    """One DICOM SEG (a segment per label) of annotations on one image."""
    from labelstack.db.session import session_scope
    from labelstack.services.errors import ServiceError
    from labelstack.services.exports import seg

    _prepared(data_dir)
    if out is None and not store:
        raise _fail("say where the SEG goes: --out FILE and/or --store")
    try:
        with session_scope() as session:
            export = seg.export_segs(session, actor=None, annotation_ids=annotation_ids)
            stored = seg.store_seg(session, actor=None, annotation_ids=annotation_ids) \
                if store else None
    except ServiceError as exc:
        raise _fail(exc.detail) from None
    if out is not None:
        out.write_bytes(export.data)
        typer.echo(f"wrote {out} ({len(export.data)} bytes)")
    if stored is not None:
        typer.echo(f"{stored.status} in {stored.store}: SEG series {stored.series_uid} "
                   f"(image {stored.image_series_uid})")


@app.command("seg-import")
def seg_import(
    source: Annotated[str, typer.Argument(help="A SEG file, or with --stored the UID of a SEG "
                                               "series in the store.")],
    stored: Annotated[bool, typer.Option(help="SOURCE is a SEG series in the store.")] = False,
    create_labels: Annotated[bool, typer.Option(help="Create labels no segment name matches.")]
    = False,
    series: Annotated[str | None, typer.Option(help="The image's series UID (default: the one "
                                                    "the SEG references).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Make a DICOM SEG the first version of its labels on its image (awaiting review)."""
    from labelstack.db.session import session_scope
    from labelstack.services.errors import ServiceError
    from labelstack.services.exports import seg

    _prepared(data_dir)
    try:
        with session_scope() as session:
            if stored:
                report = seg.import_stored_seg(session, actor=None, seg_series_uid=source,
                                               create_labels=create_labels)
            else:
                try:
                    data = Path(source).read_bytes()
                except OSError as exc:
                    raise _fail(f"cannot read {source}: {exc.strerror or exc}") from None
                report = seg.import_seg(session, actor=None, data=data, series_uid=series,
                                        create_labels=create_labels)
    except ServiceError as exc:
        raise _fail(exc.detail) from None
    for s in report.segments:
        new = " (new label)" if s.label_created else ""
        typer.echo(f"segment {s.number} {s.segment_label!r} → {s.label}{new}: annotation "
                   f"{s.annotation_id}, {s.voxels} voxels")
    typer.echo(f"{len(report.segments)} segment(s) imported on series {report.series_uid}")


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="A new or empty directory for the backup.")],
    data_dir: DataDir = None,
) -> None:
    """Copy a running instance into DEST: the database first (SQLite: the online backup API;
    PostgreSQL: runs pg_dump, which must be on PATH), then the local store's files it indexes,
    secret.key and manifest.json. Caches and browser sessions are left out."""
    from labelstack.services import backup as backups
    from labelstack.services.errors import ServiceError

    settings = _settings(data_dir)
    try:
        manifest = backups.backup(settings, dest)
    except ServiceError as exc:
        raise _fail(exc.detail) from None
    for key in manifest.missing_files:
        typer.secho(f"missing   {key}: deleted from the store during the backup",
                    fg=typer.colors.YELLOW)
    remote = f", {manifest.remote_instances} on the DICOMweb server (not copied)" \
        if manifest.remote_instances else ""
    typer.echo(f"backed up {manifest.database} at revision {manifest.alembic_revision}: "
               f"{manifest.counts.get('annotation_revisions', 0)} annotation revision(s), "
               f"{manifest.store_files} image file(s) ({manifest.store_bytes >> 20} MB){remote} "
               f"→ {dest}")


@app.command()
def restore(
    source: Annotated[Path, typer.Argument(help="A directory made by `labelstack backup`.")],
    data_dir: DataDir = None,
) -> None:
    """Restore a backup into an EMPTY data dir (PostgreSQL: an empty database, with
    pg_restore on PATH), check it, then migrate it to this version's schema."""
    from labelstack.services import backup as backups
    from labelstack.services.errors import ServiceError

    settings = _settings(data_dir)
    try:
        restored = backups.restore(settings, source)
    except ServiceError as exc:
        raise _fail(exc.detail) from None
    _prepared(data_dir)
    if restored.integrity != "ok":
        raise _fail(f"the restored database fails its integrity check: {restored.integrity}")
    if restored.missing_files:
        raise _fail(f"{len(restored.missing_files)} indexed image file(s) are missing, e.g. "
                    f"{restored.missing_files[0]}")
    counts = restored.manifest.counts
    typer.echo(f"restored {counts.get('users', 0)} user(s), {counts.get('series', 0)} series, "
               f"{counts.get('annotation_revisions', 0)} annotation revision(s) "
               f"into {settings.data_dir}")
