using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Icdiff.History.Sql;

/// <summary>The choice between the SQL stores, made once, here, from <see cref="HistoryOptions"/>.</summary>
public static class SqlRunHistory
{
    /// <summary>PostgreSQL when <c>Icdiff:History:Postgres</c> is set (a cluster), else SQLite at its path or history.db under the data directory.</summary>
    public static IRunHistoryStore Create(HistoryOptions options, string dataDirectory) => string.IsNullOrWhiteSpace(options.Postgres)
        ? new SqliteRunHistoryStore(options.SqlitePath ?? Path.Combine(dataDirectory, "history.db"))
        : new PostgresRunHistoryStore(options.Postgres);

    /// <summary>
    /// Registers the SQL history store unless the host registered another; <paramref name="dataDirectory"/> gives the
    /// folder of the SQLite default from the services (the silo's data directory).
    /// </summary>
    public static IServiceCollection AddSqlRunHistory(this IServiceCollection services, Func<IServiceProvider, string> dataDirectory)
    {
        services.TryAddSingleton(sp => Create(sp.GetRequiredService<IOptions<HistoryOptions>>().Value, dataDirectory(sp)));
        return services;
    }
}
