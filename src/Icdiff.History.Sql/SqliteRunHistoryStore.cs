using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Icdiff.History.Sql;

/// <summary>
/// The history of embedded mode: one SQLite file under the data directory, in WAL mode so the dashboard reads while
/// an audit in another process writes; a writer that finds the file locked waits (up to 30 s) rather than fails.
/// </summary>
public sealed class SqliteRunHistoryStore : SqlRunHistoryStore
{
    private readonly string _connectionString;

    public SqliteRunHistoryStore(string path)
        : base(new SqlDialect.Sqlite())
    {
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = true, DefaultTimeout = 30 }.ToString();
    }

    public string Path { get; }

    public override string Description => Path;

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var folder = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch (SqliteException ex)
        {
            await connection.DisposeAsync();
            throw new HistoryStoreException($"cannot open the history store {Path}: {ex.Message}", ex);
        }
    }
}
