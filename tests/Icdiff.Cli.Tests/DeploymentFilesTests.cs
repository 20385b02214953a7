using System.Diagnostics;
using System.Text.RegularExpressions;
using Icdiff.Cli.Tests.Deployment;
using Icdiff.Silo;

namespace Icdiff.Cli.Tests;

/// <summary>
/// infra/compose.yaml and the Helm chart, checked as far as a machine without Docker or Helm allows: each silo's
/// environment is resolved from the files (the image's ENV under the service's or pod's own) and handed to the built
/// <c>icdiff-silo --check-config</c>, the silo's own start-up check, which must pass; broken variants, made in memory,
/// must fail it the way the shipped files once did.
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);
    private static readonly string Root = FindRoot();
    private static readonly string ComposeText = File.ReadAllText(Path.Combine(Root, "infra", "compose.yaml"));
    private static readonly IReadOnlyDictionary<string, string> Image = DockerfileEnvironment.Read(Path.Combine(Root, "infra", "docker", "silo.Dockerfile"));
    private static readonly HelmChartRenderer Chart = new(Path.Combine(Root, "helm", "icdiff"));

    // What a user exports before `docker compose up`.
    private static readonly Dictionary<string, string> ComposeVariables = new(StringComparer.Ordinal) { ["ICDIFF_DASHBOARD_KEY"] = "stand-in-dashboard-key-0123" };

    // The contents of the Secrets a cluster holds: well-formed stand-ins of what each key expects.
    private static readonly Dictionary<string, string> Secrets = new(StringComparer.Ordinal)
    {
        ["Icdiff__Cluster__Redis"] = "redis:6379,password=stand-in",
        ["Icdiff__History__Postgres"] = "Host=postgres;Username=icdiff;Password=stand-in;Database=icdiff",
        ["Icdiff__Dashboard__ApiKey"] = "stand-in-dashboard-key-0123",
        ["Icdiff__History__WebhookUrl"] = "https://hooks.example.com/icdiff/stand-in",
        ["Icdiff__Milvus__Token"] = "root:stand-in",
        ["Icdiff__Blob__ConnectionString"] = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c3RhbmQtaW4=;EndpointSuffix=core.windows.net",
    };

    // The downward API's answers in a pod.
    private static readonly Dictionary<string, string> PodFields = new(StringComparer.Ordinal)
    {
        ["metadata.name"] = "audit-icdiff-silo-7d9f-x2x4q",
        ["metadata.namespace"] = "default",
        ["status.podIP"] = "10.0.0.7",
    };

    // Values that switch on every optional setting of the chart.
    private const string EverythingOn = """
        blob: { existingSecret: icdiff-blob, serviceUriTemplate: "https://{account}.blob.core.windows.net" }
        history: { ratioLimit: "0.2", modelLimits: { sdxl: "0.15" }, webhookSecret: icdiff-webhook }
        schedules:
          nightly-sdxl:
            cron: "0 2 * * *"
            timeZone: Europe/Paris
            gallery: az://laion/gallery/
            models: { sdxl: "az://generated/sdxl/", sd15: "az://generated/sd15/" }
            modelManifest: /models/pdf-embedding/model.json
            minLevel: 4
            candidates: 32
            shardSize: 128
          on-demand: { cron: "", gallery: /data/gallery, models: { m: /data/m } }
        cronJobs: [{ schedule: on-demand, cron: "0 3 * * *" }]
        models: { existingClaim: icdiff-models }
        index: { kind: milvus, partitions: 12 }
        milvus: { uri: "http://milvus:19530", existingSecret: icdiff-milvus, indexType: DISKANN }
        otlpEndpoint: http://otel-collector:4317
        extraEnv: [{ name: Icdiff__Onnx__IntraOpThreads, value: "2" }]
        coordinator: { extraEnv: [{ name: Icdiff__Silo__WorkerWaitTimeout, value: "00:05:00" }] }
        worker: { maxShardsInFlight: 12, checkpointItems: 32, gpu: { enabled: false }, extraEnv: [{ name: Icdiff__Pipeline__DecodeWorkers, value: "8" }] }
        """;

    public static TheoryData<string, string> ChartVariants => new() { { "default values", "" }, { "every optional setting on", EverythingOn } };

    [Fact]
    public async Task Compose_EverySiloService_PassesTheSilosConfigCheck()
    {
        var compose = ComposeFile.Parse(ComposeText);
        var silos = SiloServices(compose);

        Assert.Equal(["coordinator", "worker-1", "worker-2"], silos);
        foreach (var service in silos)
        {
            await AssertCheckPassesAsync($"compose service {service}", ComposeEnvironment(compose, service));
        }
    }

    [Fact]
    public async Task Compose_WorkersWithoutTheDashboardKey_FailTheCheck_AsTheyDidBefore()
    {
        // The file as it shipped: the key on the coordinator only, while the image binds every silo to 0.0.0.0.
        var broken = KeyLine().Replace(ComposeText, "");
        Assert.NotEqual(ComposeText, broken);
        var compose = ComposeFile.Parse(broken);

        var (code, _, stderr) = await CheckAsync(ComposeEnvironment(compose, "worker-1"));

        Assert.Equal(2, code);
        Assert.Equal(["icdiff-silo: error: the dashboard listens on http://0.0.0.0:8080, beyond loopback: set Icdiff:Dashboard:ApiKey (Icdiff__Dashboard__ApiKey) or bind to 127.0.0.1."], Lines(stderr));
    }

    [Fact]
    public void Compose_DashboardKey_ComesFromARequiredVariable_NeverFromTheFile()
    {
        var compose = ComposeFile.Parse(ComposeText);

        foreach (var service in SiloServices(compose))
        {
            var raw = compose.RawEnvironment(service)["Icdiff__Dashboard__ApiKey"];
            Assert.Matches(@"^\$\{[A-Z_]+:?\?[^}]+\}$", raw);
            var missing = Assert.Throws<InvalidOperationException>(() => compose.Environment(service, new Dictionary<string, string>()));
            Assert.StartsWith("required variable ICDIFF_DASHBOARD_KEY is missing a value", missing.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Compose_PublishedSiloPorts_AreTheirWebHostPort()
    {
        var compose = ComposeFile.Parse(ComposeText);
        var published = 0;

        foreach (var service in SiloServices(compose))
        {
            var httpPort = ComposeEnvironment(compose, service).GetValueOrDefault("Icdiff__Cluster__HttpPort") ?? new IcdiffClusterOptions().HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            foreach (var mapping in compose.Service(service).At("ports").Items().Select(p => p.Text()!))
            {
                Assert.Equal(httpPort, mapping.Split(':')[^1].Split('/')[0]);
                published++;
            }
        }

        Assert.Equal(1, published);
    }

    [Fact]
    public void Compose_SilosStartOnceRedisAndPostgresAreHealthy()
    {
        // A silo exits when it cannot reach Redis or (migrating the history) PostgreSQL at start.
        var compose = ComposeFile.Parse(ComposeText);

        foreach (var service in SiloServices(compose))
        {
            foreach (var dependency in new[] { "redis", "postgres" })
            {
                Assert.Equal("service_healthy", compose.Service(service).At("depends_on", dependency, "condition").Text());
                Assert.NotEmpty(compose.Service(dependency).At("healthcheck", "test").Items());
            }
        }
    }

    [Theory]
    [MemberData(nameof(ChartVariants))]
    public async Task Chart_EveryPod_PassesTheSilosConfigCheck(string variant, string values)
    {
        var pods = SiloPods(Chart.Render(values));

        Assert.Equal(["audit-icdiff-coordinator", "audit-icdiff-worker"], pods.Keys);
        foreach (var (name, container) in pods)
        {
            await AssertCheckPassesAsync($"{name} ({variant})", PodEnvironment(container));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("ports: { http: 9090 }")]
    public void Chart_PrometheusPortAnnotation_FollowsPortsHttp(string values)
    {
        var expected = values.Length == 0 ? "8080" : "9090";

        foreach (var (file, deployment) in Chart.Render(values).Where(m => m.Manifest.At("kind").Text() == "Deployment"))
        {
            var annotations = deployment.At("spec", "template", "metadata", "annotations");
            var container = deployment.At("spec", "template", "spec", "containers").Items().Single()!;
            Assert.Equal(("true", expected, "/metrics"), (annotations.At("prometheus.io/scrape").Text(), annotations.At("prometheus.io/port").Text(), annotations.At("prometheus.io/path").Text()));
            Assert.Equal(expected, container.At("ports").Items().Single(p => p.At("name").Text() == "http").At("containerPort").Text());
            Assert.True(PodEnvironment(container)["Icdiff__Cluster__HttpPort"] == expected, file);
        }
    }

    [Fact]
    public void Chart_PrometheusKeysInPodAnnotations_AreRefused()
    {
        var refused = Assert.Throws<HelmTemplateException>(() => Chart.Render("podAnnotations: { prometheus.io/port: \"9999\", team: audit }"));
        var kept = Chart.Render("podAnnotations: { team: audit }").Where(m => m.Manifest.At("kind").Text() == "Deployment");

        Assert.StartsWith("podAnnotations.prometheus.io/port: the chart sets it from ports.http", refused.Message, StringComparison.Ordinal);
        Assert.All(kept, m => Assert.Equal("audit", m.Manifest.At("spec", "template", "metadata", "annotations", "team").Text()));
    }

    [Fact]
    public void Chart_IndexBackend_ReachesEverySilo_AndMilvusNeedsItsUri()
    {
        var defaults = SiloPods(Chart.Render("")).Select(p => PodEnvironment(p.Value)).ToList();
        var milvus = SiloPods(Chart.Render(EverythingOn)).Select(p => PodEnvironment(p.Value)).ToList();
        var noUri = Assert.Throws<HelmTemplateException>(() => Chart.Render("index: { kind: milvus }"));

        Assert.All(defaults, env => Assert.Equal(("embedded", "8"), (env["Icdiff__Index__Kind"], env["Icdiff__Index__Partitions"])));
        Assert.All(defaults, env => Assert.DoesNotContain(env.Keys, k => k.StartsWith("Icdiff__Milvus__", StringComparison.Ordinal)));
        Assert.All(milvus, env => Assert.Equal(("milvus", "http://milvus:19530", "DISKANN"), (env["Icdiff__Index__Kind"], env["Icdiff__Milvus__Uri"], env["Icdiff__Milvus__IndexType"])));
        Assert.Contains("milvus.uri is required with index.kind milvus", noUri.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Chart_RoleSettings_ReachOnlyThePodsOfThatRole()
    {
        var pods = SiloPods(Chart.Render(EverythingOn)).ToDictionary(p => p.Key, p => PodEnvironment(p.Value));
        var coordinator = pods["audit-icdiff-coordinator"];
        var worker = pods["audit-icdiff-worker"];

        Assert.Equal(("coordinator", "worker"), (coordinator["Icdiff__Silo__Roles"], worker["Icdiff__Silo__Roles"]));
        Assert.Equal(("12", "32", "8"), (worker["Icdiff__Silo__MaxShardsInFlight"], worker["Icdiff__Silo__CheckpointItems"], worker["Icdiff__Pipeline__DecodeWorkers"]));
        string[] workerOnly = ["Icdiff__Silo__MaxShardsInFlight", "Icdiff__Silo__CheckpointItems", "Icdiff__Pipeline__", "Icdiff__Decoder__"];
        string[] coordinatorOnly = ["Icdiff__Scheduling__", "Icdiff__History__RatioLimit", "Icdiff__History__ModelLimits__", "Icdiff__History__WebhookUrl", "Icdiff__Silo__WorkerWaitTimeout"];
        Assert.DoesNotContain(coordinator.Keys, k => workerOnly.Any(p => k.StartsWith(p, StringComparison.Ordinal)));
        Assert.DoesNotContain(worker.Keys, k => coordinatorOnly.Any(p => k.StartsWith(p, StringComparison.Ordinal)));
        Assert.Equal("az://generated/sdxl/", coordinator["Icdiff__Scheduling__Schedules__nightly-sdxl__Models__sdxl"]);
        Assert.Equal("0.15", coordinator["Icdiff__History__ModelLimits__sdxl"]);
        Assert.All(pods.Values, env => Assert.Equal("2", env["Icdiff__Onnx__IntraOpThreads"]));
    }

    [Fact]
    public async Task Chart_SettingsOnTheWrongPods_FailTheCheck_OneLineEach()
    {
        var pods = SiloPods(Chart.Render("""
            extraEnv: [{ name: Icdiff__Milvus__Uri, value: "http://milvus:19530" }]
            coordinator: { extraEnv: [{ name: Icdiff__Silo__MaxShardsInFlight, value: "8" }] }
            """));

        var coordinator = await CheckAsync(PodEnvironment(pods["audit-icdiff-coordinator"]));
        var worker = await CheckAsync(PodEnvironment(pods["audit-icdiff-worker"]));

        Assert.Equal((2, 2), (coordinator.ExitCode, worker.ExitCode));
        var milvus = "icdiff-silo: error: Icdiff:Milvus:Uri has no effect: Icdiff:Index:Kind is not 'milvus'.";
        Assert.Equal([milvus, "icdiff-silo: error: Icdiff:Silo:MaxShardsInFlight is read only by silos with the worker role; this silo's Icdiff:Silo:Roles are 'coordinator'."], Lines(coordinator.Stderr));
        Assert.Equal([milvus], Lines(worker.Stderr));
    }

    [Fact]
    public void Chart_DashboardKeyAndConnectionStrings_ComeFromSecrets()
    {
        foreach (var (name, container) in SiloPods(Chart.Render(EverythingOn)))
        {
            foreach (var entry in container.At("env").Items().Where(e => Secrets.ContainsKey(e.At("name").Text()!)))
            {
                Assert.True(entry.At("value") is null && entry.At("valueFrom", "secretKeyRef", "name") is string, $"{name}: {entry.At("name")} must come from a Secret");
            }
        }
    }

    [Fact]
    public void Renderer_FollowsHelmOnTrimmingRangesDefaultsAndIncludes()
    {
        // A tiny chart whose `helm template` output is known, so the renderer the chart tests rely on is checked too.
        var chart = Directory.CreateTempSubdirectory("icdiff-chart-").FullName;
        Directory.CreateDirectory(Path.Combine(chart, "templates"));
        File.WriteAllText(Path.Combine(chart, "Chart.yaml"), "name: t\nversion: 0.1.0\nappVersion: \"1.2\"\n");
        File.WriteAllText(Path.Combine(chart, "values.yaml"), "a: { z: 1, b: x }\nempty: \"\"\nn: 0\nlist: [p, q]\n");
        File.WriteAllText(Path.Combine(chart, "templates", "_h.tpl"), "{{/* a comment: it's skipped */}}\n{{- define \"t.name\" -}}\n{{ printf \"%s-%s\" .Release.Name .Chart.Name | trunc 6 | trimSuffix \"-\" }}\n{{- end -}}\n");
        File.WriteAllText(Path.Combine(chart, "templates", "cm.yaml"), """
            name: {{ include "t.name" . }}
            data:
              {{- range $k, $v := .Values.a }}
              {{ $k }}: {{ $v | quote }}
              {{- end }}
              tag: {{ .Values.empty | default .Chart.AppVersion | quote }}
              zero: {{ if .Values.n }}yes{{ else if not .Values.empty }}empty{{ else }}no{{ end }}
              missing: {{ .Values.nothing | quote }}x
            items:
              {{- toYaml .Values.list | nindent 2 }}
            """);

        var text = new HelmChartRenderer(chart).RenderText(releaseName: "release")["cm.yaml"];

        Assert.Equal("name: releas\ndata:\n  b: \"x\"\n  z: \"1\"\n  tag: \"1.2\"\n  zero: empty\n  missing: x\nitems:\n  - p\n  - q", text);
        // Helm cannot range over a string either.
        Assert.Throws<HelmTemplateException>(() => new HelmChartRenderer(chart).Render("a: text"));
    }

    private static List<string> SiloServices(ComposeFile compose) =>
        [.. compose.ServiceNames.Where(s => compose.Service(s).At("build", "dockerfile").Text() == "infra/docker/silo.Dockerfile").Order(StringComparer.Ordinal)];

    private static Dictionary<string, string> ComposeEnvironment(ComposeFile compose, string service)
    {
        var environment = new Dictionary<string, string>(Image, StringComparer.Ordinal);
        foreach (var (key, value) in compose.Environment(service, ComposeVariables))
        {
            environment[key] = value;
        }

        return environment;
    }

    private static SortedDictionary<string, object> SiloPods(IReadOnlyList<(string File, object Manifest)> manifests) => new(
        manifests.Where(m => m.Manifest.At("kind").Text() == "Deployment")
            .ToDictionary(m => m.Manifest.At("metadata", "name").Text()!, m => m.Manifest.At("spec", "template", "spec", "containers").Items().Single(c => c.At("name").Text() == "silo")!),
        StringComparer.Ordinal);

    private static Dictionary<string, string> PodEnvironment(object container)
    {
        var environment = new Dictionary<string, string>(Image, StringComparer.Ordinal);
        foreach (var entry in container.At("env").Items())
        {
            var name = entry.At("name").Text()!;
            environment[name] = (entry.At("value"), entry.At("valueFrom")) switch
            {
                // Kubernetes refuses a pod whose env value is a number or a boolean.
                (string value, null) => value,
                (null, var from) when from.At("fieldRef", "fieldPath").Text() is { } field => PodFields[field],
                (null, var from) when from.At("secretKeyRef") is not null => Secrets.TryGetValue(name, out var secret) ? secret : throw new Xunit.Sdk.XunitException($"{name} comes from a Secret this test has no stand-in for: add one to {nameof(Secrets)}"),
                (null, null) => "",
                var (value, _) => throw new Xunit.Sdk.XunitException($"{name}: Kubernetes needs a string value or a valueFrom (got {value?.GetType().Name})"),
            };
        }

        return environment;
    }

    private static async Task AssertCheckPassesAsync(string what, IReadOnlyDictionary<string, string> environment)
    {
        var (code, stdout, stderr) = await CheckAsync(environment);
        Assert.True(code == 0, $"{what}: icdiff-silo --check-config exited {code}\n{stderr}");
        Assert.StartsWith("icdiff-silo: configuration ok", stdout, StringComparison.Ordinal);
    }

    /// <summary>Runs the built silo's check with exactly <paramref name="environment"/> as its Icdiff and pod settings.</summary>
    private static async Task<(int ExitCode, string Stdout, string Stderr)> CheckAsync(IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // An empty folder: no appsettings.json adds settings the files do not have.
            WorkingDirectory = Directory.CreateTempSubdirectory("icdiff-check-").FullName,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "icdiff-silo.dll"));
        start.ArgumentList.Add("--check-config");
        foreach (var inherited in start.Environment.Keys.Where(k => k.StartsWith("Icdiff", StringComparison.OrdinalIgnoreCase) || k.StartsWith("POD_", StringComparison.Ordinal) || k.StartsWith("ORLEANS_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(inherited);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"icdiff-silo --check-config did not finish within {Limit}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Icdiff.Distributed.sln")))
            {
                return folder.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Icdiff.Distributed.sln above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"^\s*Icdiff__Dashboard__ApiKey:.*\n", RegexOptions.Multiline)]
    private static partial Regex KeyLine();
}
