using System.CommandLine;
using Icdiff.Dashboard;
using Icdiff.Grains;
using Icdiff.History;
using Icdiff.History.Sql;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Icdiff.Cli.Commands;

/// <summary>
/// <c>icdiff serve</c>: the dashboard over the run history of a data directory (or a PostgreSQL history), and, when
/// the settings name schedules, the embedded silo that runs them. Loopback only unless an API key is configured.
/// </summary>
internal static class ServeCommand
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen (';'-separated). Beyond loopback needs Icdiff:Dashboard:ApiKey.", DefaultValueFactory = _ => DefaultUrl };
        var dataDir = new Option<string?>("--data-dir") { Description = "The data directory whose history.db to show (and where scheduled runs keep their data)." };
        var settings = new Option<string?>("--settings") { Description = "A JSON settings file: Icdiff:Scheduling:Schedules, Icdiff:History (alerts, webhook, PostgreSQL), Icdiff:Dashboard:ApiKey. Environment variables (Icdiff__...) override it." };
        var command = new Command("serve", "Serve the replication dashboard (overview, runs, match review, live progress) and run the configured schedules.") { urls, dataDir, settings };
        command.SetAction((parse, ct) => CommandHost.RunAsync(() => RunAsync(parse.GetValue(urls)!, parse.GetValue(dataDir), parse.GetValue(settings), ct)));
        return command;
    }

    private static async Task<int> RunAsync(string urls, string? dataDirectory, string? settingsFile, CancellationToken cancellationToken)
    {
        var folder = Path.GetFullPath(dataDirectory ?? AuditSession.DefaultDataDirectory);
        var configuration = new ConfigurationBuilder();
        if (settingsFile is not null)
        {
            if (!File.Exists(settingsFile))
            {
                throw new CliError($"--settings '{settingsFile}' does not exist.");
            }

            configuration.AddJsonFile(Path.GetFullPath(settingsFile), optional: false);
        }

        configuration.AddEnvironmentVariables();
        IConfigurationRoot settings;
        try
        {
            settings = configuration.Build();
        }
        catch (InvalidDataException ex)
        {
            throw new CliError($"--settings '{settingsFile}' is not valid JSON: {ex.Message}", ex);
        }

        CliSettings.Check(settings);
        var history = settings.GetSection(HistoryOptions.SectionName).Get<HistoryOptions>() ?? new HistoryOptions();
        history.Validate();
        var dashboard = settings.GetSection(IcdiffDashboardOptions.SectionName).Get<IcdiffDashboardOptions>() ?? new IcdiffDashboardOptions();
        var listen = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // Kestrel endpoints in the settings win over --urls: the binding rules apply to what Kestrel will really bind.
        var endpoints = settings.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>().ToArray();
        if (endpoints.Length > 0)
        {
            listen = endpoints;
        }

        dashboard.Validate(listen);
        var scheduling = settings.GetSection(SchedulingOptions.SectionName).Get<SchedulingOptions>() ?? new SchedulingOptions();
        scheduling.Validate();

        var store = SqlRunHistory.Create(history, folder);
        try
        {
            await store.MigrateAsync(cancellationToken);
        }
        catch (HistoryStoreException ex)
        {
            throw new CliError(ex.Message, ex);
        }

        // Schedules run in an embedded silo of this process, with the same settings.
        await using var silo = scheduling.Schedules.Count > 0 ? await EmbeddedSilo.StartAsync(folder, cancellationToken, settings) : null;

        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddConfiguration(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (endpoints.Length == 0)
        {
            builder.WebHost.UseUrls(listen);
        }
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(_ => CliServices.CreateCorpusResolver());
        builder.Services.AddIcdiffDashboard();
        var app = builder.Build();
        app.UseDashboardAccess();
        app.MapIcdiffDashboard();
        await app.StartAsync(cancellationToken);
        // The addresses Kestrel really bound (a port 0 resolved, endpoints from the settings), checked again.
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? listen;
        dashboard.Validate(bound);
        Console.WriteLine($"Dashboard on {string.Join(", ", bound)} over the history {store.Description}{(silo is null ? "" : $"; schedules: {string.Join(", ", scheduling.Schedules.Keys)}")}. Ctrl+C stops it.");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        await app.StopAsync(CancellationToken.None);
        return 0;
    }
}
