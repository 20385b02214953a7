using System.Data.Common;
using System.Globalization;

namespace Icdiff.History.Sql;

/// <summary>What differs between the two stores' SQL: column types, timestamps and the migration lock.</summary>
internal abstract class SqlDialect
{
    public abstract string Timestamp { get; }

    public abstract string Real { get; }

    public abstract object ToDb(DateTimeOffset value);

    public abstract DateTimeOffset ReadTimestamp(DbDataReader reader, int ordinal);

    /// <summary>Statements run at the start of the migration transaction so two processes never migrate at once.</summary>
    public abstract string? MigrationLock { get; }

    public sealed class Sqlite : SqlDialect
    {
        public override string Timestamp => "TEXT";

        public override string Real => "REAL";

        // ISO 8601 in UTC with a fixed width: text order is time order.
        public override object ToDb(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

        public override DateTimeOffset ReadTimestamp(DbDataReader reader, int ordinal) =>
            DateTimeOffset.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

        // BEGIN IMMEDIATE (the transaction's default) already takes the write lock.
        public override string? MigrationLock => null;
    }

    public sealed class Postgres : SqlDialect
    {
        public override string Timestamp => "TIMESTAMPTZ";

        public override string Real => "DOUBLE PRECISION";

        public override object ToDb(DateTimeOffset value) => value.ToUniversalTime();

        public override DateTimeOffset ReadTimestamp(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

        public override string? MigrationLock => "SELECT pg_advisory_xact_lock(7313105201);";
    }
}
