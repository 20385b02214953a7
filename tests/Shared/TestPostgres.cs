using Npgsql;

namespace Icdiff.Tests.Shared;

/// <summary>
/// A fresh database on the PostgreSQL server named by ICDIFF_TEST_POSTGRES (a connection string whose role may create
/// databases; .ci/run starts Debian's PostgreSQL and sets it). Null, with the reason, when the variable is not set.
/// </summary>
public sealed class TestPostgres : IAsyncDisposable
{
    public const string Variable = "ICDIFF_TEST_POSTGRES";

    private readonly string _server;

    private TestPostgres(string server, string database, string connectionString)
    {
        _server = server;
        Database = database;
        ConnectionString = connectionString;
    }

    public string Database { get; }

    public string ConnectionString { get; }

    public static string SkipReason => $"{Variable} is not set: no PostgreSQL server to test against (.ci/run starts one)";

    public static async Task<TestPostgres?> CreateAsync()
    {
        var server = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(server))
        {
            return null;
        }

        var database = $"icdiff_test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new TestPostgres(server, database, new NpgsqlConnectionStringBuilder(server) { Database = database }.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Database} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
