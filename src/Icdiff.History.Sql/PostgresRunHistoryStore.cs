using System.Data.Common;
using Npgsql;

namespace Icdiff.History.Sql;

/// <summary>The history of a cluster: one PostgreSQL database shared by every silo and the dashboard.</summary>
public sealed class PostgresRunHistoryStore : SqlRunHistoryStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresRunHistoryStore(string connectionString)
        : base(new SqlDialect.Postgres())
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new HistoryStoreException($"the PostgreSQL connection string is not valid: {ex.Message}", ex);
        }

        Description = $"postgresql://{builder.Host}:{builder.Port}/{builder.Database}";
        _dataSource = NpgsqlDataSource.Create(builder);
    }

    public override string Description { get; }

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // The connection string may hold a password: the message names the server, not the string.
            throw new HistoryStoreException($"cannot reach the history store {Description}: {ex.Message}", ex);
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
