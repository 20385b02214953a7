using System.Reflection;
using Icdiff.Silo;
using Microsoft.Extensions.Configuration;

namespace Icdiff.Cli.Tests;

/// <summary>The silo's configuration check on in-memory settings: what it refuses, what it reports, and what it accepts.</summary>
public sealed class SiloSettingsCheckTests
{
    private const string Redis = "Icdiff:Cluster:Redis";

    private static readonly Dictionary<string, string> Pod = new()
    {
        ["POD_NAME"] = "icdiff-worker-0",
        ["POD_NAMESPACE"] = "audit",
        ["POD_IP"] = "10.1.2.3",
        ["ORLEANS_CLUSTER_ID"] = "icdiff",
        ["ORLEANS_SERVICE_ID"] = "icdiff",
    };

    private static IReadOnlyList<SettingProblem> Check(Dictionary<string, string?> settings, IReadOnlyDictionary<string, string>? environment = null) =>
        SiloSettingsCheck.Check(
            new ConfigurationBuilder().AddInMemoryCollection(settings).Build(),
            name => (environment ?? new Dictionary<string, string>()).GetValueOrDefault(name));

    [Fact]
    public void Check_OnlyRedisSet_FindsNothing()
    {
        Assert.Empty(Check(new() { [Redis] = "localhost:6379" }));
    }

    [Fact]
    public void Check_NoRedis_IsInvalidNamingTheKey()
    {
        var problem = Assert.Single(Check([]));

        Assert.Equal(SettingProblemKind.Invalid, problem.Kind);
        Assert.StartsWith("Icdiff:Cluster:Redis is required", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_ValueTheBinderCannotConvert_NamesTheKey_NotTheValue()
    {
        var problem = Assert.Single(Check(new() { [Redis] = "localhost:6379", ["Icdiff:History:ProgressInterval"] = "s3cr3t-looking-value" }));

        Assert.Equal(SettingProblemKind.Invalid, problem.Kind);
        Assert.Equal("Icdiff:History:ProgressInterval must be a time span (hh:mm:ss, e.g. 00:02:00); its value cannot be read as one.", problem.Message);
    }

    [Fact]
    public void Check_MisspelledSetting_IsUnknown_AndListsTheSettingsThere()
    {
        var problem = Assert.Single(Check(new() { [Redis] = "localhost:6379", ["Icdiff:Silo:MaxShardInFlight"] = "8" }));

        Assert.Equal(SettingProblemKind.Unknown, problem.Kind);
        Assert.Equal("Icdiff:Silo:MaxShardInFlight", problem.Key);
        Assert.Contains("MaxShardsInFlight", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_SectionTheSiloDoesNotRead_IsUnknown()
    {
        var problem = Assert.Single(Check(new() { [Redis] = "localhost:6379", ["Icdiff:Faiss:Uri"] = "http://faiss:8080" }));

        Assert.Equal(SettingProblemKind.Unknown, problem.Kind);
        Assert.StartsWith("Icdiff:Faiss:Uri is not read by icdiff-silo", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_MilvusSettings_AreRulesOnlyForTheMilvusBackend_AndUnusedOtherwise()
    {
        var unused = Assert.Single(Check(new() { [Redis] = "localhost:6379", ["Icdiff:Milvus:Uri"] = "http://milvus:19530" }));
        var missing = Assert.Single(Check(new() { [Redis] = "localhost:6379", ["Icdiff:Index:Kind"] = "milvus" }));
        var fine = Check(new() { [Redis] = "localhost:6379", ["Icdiff:Index:Kind"] = "milvus", ["Icdiff:Milvus:Uri"] = "http://milvus:19530" });

        Assert.Equal((SettingProblemKind.NotRead, "Icdiff:Milvus:Uri has no effect: Icdiff:Index:Kind is not 'milvus'."), (unused.Kind, unused.Message));
        Assert.Equal((SettingProblemKind.Invalid, "Icdiff:Milvus:Uri must be an http(s) URI (got '')."), (missing.Kind, missing.Message));
        Assert.Empty(fine);
    }

    [Fact]
    public void Check_ScheduleAndModelLimits_ResolveThroughTheirDictionaries()
    {
        var problems = Check(new()
        {
            [Redis] = "localhost:6379",
            ["Icdiff:Scheduling:Schedules:nightly:Cron"] = "0 2 * * *",
            ["Icdiff:Scheduling:Schedules:nightly:Gallery"] = "/data/gallery",
            ["Icdiff:Scheduling:Schedules:nightly:Models:sdxl"] = "/data/sdxl",
            ["Icdiff:Scheduling:Schedules:nightly:MinLevl"] = "3",
            ["Icdiff:History:ModelLimits:sdxl"] = "0.15",
        });

        var problem = Assert.Single(problems);
        Assert.Equal("Icdiff:Scheduling:Schedules:nightly:MinLevl", problem.Key);
        Assert.Contains("MinLevel", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_ABadSchedule_ListsEachOfItsProblems()
    {
        var problems = Check(new()
        {
            [Redis] = "localhost:6379",
            ["Icdiff:Scheduling:Schedules:nightly:Cron"] = "not a cron",
            ["Icdiff:Scheduling:Schedules:nightly:Models:sdxl"] = "/data/sdxl",
            ["Icdiff:Scheduling:Schedules:nightly:ShardSize"] = "0",
        });

        Assert.All(problems, p => Assert.Equal(SettingProblemKind.Invalid, p.Kind));
        Assert.Equal(3, problems.Count);
        Assert.StartsWith("Icdiff:Scheduling:Schedules:nightly:Cron 'not a cron' is not a cron expression", problems[0].Message, StringComparison.Ordinal);
        Assert.Equal("Icdiff:Scheduling:Schedules:nightly:Gallery must name the gallery corpus.", problems[1].Message);
        Assert.Equal("Icdiff:Scheduling:Schedules:nightly:ShardSize must be 1..100000 (got 0).", problems[2].Message);
    }

    [Theory]
    [InlineData("worker", "Icdiff:Silo:MaxShardsInFlight", false)]
    [InlineData("coordinator", "Icdiff:Silo:MaxShardsInFlight", true)]
    [InlineData("coordinator", "Icdiff:Silo:CheckpointItems", true)]
    [InlineData("coordinator", "Icdiff:Pipeline:DecodeWorkers", true)]
    [InlineData("coordinator,worker", "Icdiff:Pipeline:DecodeWorkers", false)]
    [InlineData("worker", "Icdiff:Silo:WorkerWaitTimeout", true)]
    [InlineData("worker", "Icdiff:History:RatioLimit", true)]
    [InlineData("worker", "Icdiff:History:Postgres", false)]
    [InlineData("worker", "Icdiff:Onnx:IntraOpThreads", false)]
    [InlineData("coordinator", "ICDIFF:silo:maxshardsinflight", true)]
    public void Check_SettingOfTheOtherRole_IsNotRead(string roles, string key, bool notRead)
    {
        var value = key switch
        {
            "Icdiff:Silo:WorkerWaitTimeout" => "00:01:00",
            "Icdiff:History:RatioLimit" => "0.2",
            "Icdiff:History:Postgres" => "Host=pg;Username=icdiff;Database=icdiff",
            _ => "2",
        };

        var problems = Check(new() { [Redis] = "localhost:6379", ["Icdiff:Silo:Roles"] = roles, [key] = value });

        if (notRead)
        {
            var problem = Assert.Single(problems);
            Assert.Equal(SettingProblemKind.NotRead, problem.Kind);
            Assert.StartsWith($"{key} is read only by silos with the", problem.Message, StringComparison.OrdinalIgnoreCase);
        }
        else
        {
            Assert.Empty(problems);
        }
    }

    [Fact]
    public void Check_WebHostBeyondLoopback_NeedsTheDashboardKey()
    {
        var open = new Dictionary<string, string?> { [Redis] = "localhost:6379", ["Icdiff:Cluster:HttpAddress"] = "0.0.0.0" };

        var withoutKey = Assert.Single(Check(open));
        open["Icdiff:Dashboard:ApiKey"] = "0123456789abcdef0123";

        Assert.Equal(SettingProblemKind.Invalid, withoutKey.Kind);
        Assert.Contains("set Icdiff:Dashboard:ApiKey", withoutKey.Message, StringComparison.Ordinal);
        Assert.Empty(Check(open));
    }

    [Fact]
    public void Check_EveryInvalidSection_IsReported_NotOnlyTheFirst()
    {
        var problems = Check(new() { ["Icdiff:Cluster:HttpAddress"] = "0.0.0.0", ["Icdiff:Pipeline:EmbedBatchSize"] = "0" });

        Assert.Equal(["Icdiff:Cluster", "Icdiff:Dashboard", "Icdiff:Pipeline"], problems.Select(p => p.Key));
        Assert.All(problems, p => Assert.Equal(SettingProblemKind.Invalid, p.Kind));
    }

    [Fact]
    public void Check_KubernetesHosting_NeedsThePodVariables_AndIgnoresClusterIdAndAddress()
    {
        var settings = new Dictionary<string, string?>
        {
            [Redis] = "redis:6379",
            ["Icdiff:Cluster:Kubernetes"] = "true",
            ["Icdiff:Cluster:ClusterId"] = "icdiff",
            ["Icdiff:Cluster:ServiceId"] = "icdiff",
        };

        var outsideAPod = Check(settings);
        var inAPod = Check(settings, Pod);

        Assert.Contains(outsideAPod, p => p.Kind == SettingProblemKind.Invalid && p.Message.Contains("POD_NAME, POD_NAMESPACE, POD_IP", StringComparison.Ordinal));
        var ignored = Assert.Single(inAPod);
        Assert.Equal((SettingProblemKind.NotRead, "Icdiff:Cluster:ClusterId"), (ignored.Kind, ignored.Key));
    }

    [Fact]
    public void Check_MalformedConnectionStrings_NameTheirKeys_NotTheirValues()
    {
        var problems = Check(new()
        {
            [Redis] = "localhost:6379,passwrd=hunter2-secret",
            ["Icdiff:History:Postgres"] = "Host=pg;Pasword=hunter2-secret",
            ["Icdiff:Blob:ConnectionString"] = "AccountKey=hunter2-secret;not a connection string",
        });

        Assert.Equal(["Icdiff:Cluster", "Icdiff:History", "Icdiff:Blob"], problems.Select(p => p.Key));
        Assert.All(problems, p => Assert.Equal(SettingProblemKind.Invalid, p.Kind));
        Assert.All(problems, p => Assert.DoesNotContain("hunter2", p.Message, StringComparison.Ordinal));
        Assert.Contains("Icdiff:Cluster:Redis", problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("Icdiff:History:Postgres", problems[1].Message, StringComparison.Ordinal);
        Assert.Contains("Icdiff:Blob:ConnectionString", problems[2].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_CoversEveryOptionsSectionOfTheSilosAssemblies()
    {
        // An options class added to any assembly the silo loads must be checked too, or its typos pass unseen.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<Assembly>([typeof(SiloSettingsCheck).Assembly]);
        var sections = new List<(Type Type, string Name)>();
        while (pending.TryDequeue(out var assembly))
        {
            foreach (var reference in assembly.GetReferencedAssemblies().Where(r => r.Name!.StartsWith("Icdiff.", StringComparison.Ordinal) && seen.Add(r.Name)))
            {
                pending.Enqueue(Assembly.Load(reference));
            }

            sections.AddRange(assembly.GetTypes()
                .Select(t => (Type: t, Field: t.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)))
                .Where(t => t.Field is { IsLiteral: true } && t.Field.GetRawConstantValue() is string s && s.StartsWith("Icdiff:", StringComparison.Ordinal))
                .Select(t => (t.Type, (string)t.Field!.GetRawConstantValue()!)));
        }

        Assert.True(sections.Count >= 9, $"found only {sections.Count} options sections: {string.Join(", ", sections.Select(s => s.Name))}");
        Assert.All(sections, s => Assert.Contains(s.Type, SiloSettingsCheck.OptionsTypes));
        Assert.Equal(sections.Select(s => s.Name).Order(StringComparer.Ordinal), SiloSettingsCheck.SectionNames.Order(StringComparer.Ordinal));
    }
}
