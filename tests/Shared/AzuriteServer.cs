using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Icdiff.Tests.Shared;

/// <summary>
/// A real Azurite blob service on loopback for the tests, started from the npm install that <c>.ci/run</c> makes
/// (<c>.tools/node_modules/.bin/azurite-blob</c>, or <c>AZURITE_BLOB</c>). Data is kept on disk under a temporary
/// folder, so the server can be stopped and started again with its blobs intact, as a storage outage looks.
/// </summary>
internal sealed class AzuriteServer : IAsyncDisposable
{
    public const string AccountName = "devstoreaccount1";

    // Azurite's published development key: not a secret, the same in every copy of Azurite.
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string _executable;
    private readonly string _dataFolder;
    private Process? _process;

    private AzuriteServer(string executable, int port)
    {
        _executable = executable;
        Port = port;
        _dataFolder = Directory.CreateTempSubdirectory("icdiff-azurite-").FullName;
    }

    public int Port { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{Port}/{AccountName};";

    /// <summary>Where Azurite is, or null with the reason it cannot be found.</summary>
    public static string? FindExecutable(out string reason)
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("AZURITE_BLOB") is { Length: > 0 } configured)
        {
            candidates.Add(configured);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            candidates.Add(Path.Combine(dir.FullName, ".tools", "node_modules", ".bin", "azurite-blob"));
        }

        var found = candidates.FirstOrDefault(File.Exists);
        reason = found is null
            ? "Azurite is not installed: run `npm install --prefix .tools azurite@3.35.0` (as .ci/run does) or set AZURITE_BLOB"
            : string.Empty;
        return found;
    }

    public static async Task<AzuriteServer> StartAsync(string executable)
    {
        var server = new AzuriteServer(executable, FreePort());
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>Stops the server (its data stays on disk); requests fail with connection refused until <see cref="ResumeAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            // SIGTERM lets Azurite write its metadata database; SIGKILL would lose recent containers and blobs.
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await process.WaitForExitAsync(patience.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        _process?.Dispose();
        _process = null;
    }

    public Task ResumeAsync() => StartProcessAsync();

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_dataFolder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task StartProcessAsync()
    {
        var start = new ProcessStartInfo(_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--location", _dataFolder, "--skipApiVersionCheck", "--disableTelemetry", "--silent", "--loose" })
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {_executable}");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode} on start");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"Azurite did not listen on port {Port} within 30 s");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
