namespace Icdiff.History.Sql;

/// <summary>
/// The schema, as numbered steps. A store records the steps applied in <c>schema_migrations</c>; a build applies the
/// missing ones in order and refuses a store migrated by a newer build. Steps are never edited once released: a
/// change is a new step.
/// </summary>
internal static class HistoryMigrations
{
    public sealed record Migration(int Version, string Description, Func<SqlDialect, string> Script);

    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "runs, their models, scored images and skipped images", d => $"""
            CREATE TABLE runs (
                run_id TEXT PRIMARY KEY,
                schedule TEXT NULL,
                state TEXT NOT NULL,
                started_at {d.Timestamp} NOT NULL,
                finished_at {d.Timestamp} NULL,
                gallery TEXT NOT NULL,
                gallery_indexed INTEGER NOT NULL,
                gallery_skipped INTEGER NOT NULL,
                model_name TEXT NULL,
                scoring_rule TEXT NULL,
                criterion TEXT NOT NULL,
                min_level INTEGER NOT NULL,
                model_manifest TEXT NOT NULL,
                error TEXT NULL,
                flagged INTEGER NOT NULL);
            CREATE TABLE run_models (
                run_id TEXT NOT NULL,
                model TEXT NOT NULL,
                location TEXT NOT NULL,
                listed INTEGER NOT NULL,
                done INTEGER NOT NULL,
                listing_complete INTEGER NOT NULL,
                scanned INTEGER NOT NULL,
                replicas INTEGER NOT NULL,
                skipped INTEGER NOT NULL,
                ratio {d.Real} NOT NULL,
                lower_bound {d.Real} NOT NULL,
                upper_bound {d.Real} NOT NULL,
                levels TEXT NOT NULL,
                skips_by_reason TEXT NOT NULL,
                cumulative_scanned INTEGER NOT NULL,
                cumulative_replicas INTEGER NOT NULL,
                alert TEXT NULL,
                PRIMARY KEY (run_id, model));
            CREATE TABLE run_images (
                run_id TEXT NOT NULL,
                model TEXT NOT NULL,
                item_key TEXT NOT NULL,
                gallery_key TEXT NULL,
                level INTEGER NOT NULL,
                score {d.Real} NOT NULL,
                PRIMARY KEY (run_id, model, item_key));
            CREATE TABLE run_skips (
                run_id TEXT NOT NULL,
                model TEXT NOT NULL,
                item_key TEXT NOT NULL,
                reason TEXT NOT NULL,
                detail TEXT NULL,
                PRIMARY KEY (run_id, model, item_key));
            """),
        new(2, "indexes for the dashboard's and the scheduler's queries", _ => """
            CREATE INDEX ix_runs_started ON runs (started_at);
            CREATE INDEX ix_runs_schedule ON runs (schedule, started_at);
            CREATE INDEX ix_run_images_level ON run_images (run_id, model, level);
            """),
        new(3, "the stamps of each scored image and of its gallery match, as the run read them", _ => """
            ALTER TABLE run_images ADD COLUMN item_stamp TEXT NULL;
            ALTER TABLE run_images ADD COLUMN gallery_stamp TEXT NULL;
            CREATE INDEX ix_run_images_gallery ON run_images (run_id, gallery_key);
            """),
        new(4, "replicas under the run's other match rule (top1 / max-level), per model", _ => """
            ALTER TABLE run_models ADD COLUMN alt_replicas INTEGER NULL;
            """),
        new(5, "the gallery index backend a run searched (embedded, or sharded with its partitions)", _ => """
            ALTER TABLE runs ADD COLUMN gallery_index TEXT NULL;
            """),
    ];

    public static int Latest => All[^1].Version;
}
