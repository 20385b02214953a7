namespace Icdiff.Grains.Tests;

/// <summary>
/// A three-silo cluster whose primary silo declares only the coordinator role and whose two others declare only
/// the worker role, as a CPU coordinator beside GPU workers would in production.
/// </summary>
public sealed class RoleClusterFixture() : DemoClusterFixture(DataDirectory, 29)
{
    internal static string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"icdiff-roles-{Guid.NewGuid():N}");

    protected override Task<TestCluster> DeployAsync() => TestClusters.DeployAsync<Configurator>(3);

    private sealed class Configurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) =>
            siloBuilder.AddRoleSplitAuditSilo(DataDirectory, o => o.WorkerWaitTimeout = TimeSpan.FromSeconds(3));
    }
}

public sealed class WorkerRoleTests(RoleClusterFixture fixture) : IClassFixture<RoleClusterFixture>
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);

    private AuditRequest Request() => fixture.Corpus.AuditOf(shardSize: 8);

    private async Task<RunStatus> RunToEndAsync(string runId)
    {
        var run = fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId);
        var status = await run.StartAsync(Request());
        using var timeout = new CancellationTokenSource(RunTimeout);
        while (!status.IsFinished)
        {
            timeout.Token.ThrowIfCancellationRequested();
            // The grain answers as soon as the status changes (WaitForChangeAsync): no polling interval.
            status = await run.WaitForChangeAsync(status.Revision, TimeSpan.FromSeconds(5));
        }

        return status;
    }

    [Fact]
    public async Task Audit_PlacesWorkOnlyOnWorkerSilos_AndCoordinationOnlyOnTheCoordinator()
    {
        var status = await RunToEndAsync($"roles-{Guid.NewGuid():N}");

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        Assert.Equal(fixture.Corpus.Spec.Models.Sum(m => m.Total), status.Models.Sum(m => m.Done));
        var statistics = await fixture.Cluster.GrainFactory.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics(TestContext.Current.CancellationToken);
        var primary = fixture.Cluster.Primary!.SiloAddress;
        var ours = statistics.Where(s => s.GrainType.Contains("Icdiff.Grains", StringComparison.Ordinal) && s.ActivationCount > 0).ToList();
        var report = string.Join("; ", ours.Select(s => $"{s.GrainType}@{s.SiloAddress}={s.ActivationCount}"));
        var workers = ours.Where(s => s.GrainType.Contains("WorkerGrain", StringComparison.Ordinal)).ToList();
        Assert.True(workers.Count > 0, $"no worker activations seen: {report}");
        Assert.All(workers, s => Assert.NotEqual(primary, s.SiloAddress));
        Assert.All(ours.Except(workers), s => Assert.Equal(primary, s.SiloAddress));
    }

    [Fact]
    public async Task Audit_WithNoWorkerSilo_FailsWithThatReason_InsteadOfHanging()
    {
        // A cluster of one coordinator-only silo: the primary of a fresh cluster with the same configurator.
        var builder = new TestClusterBuilder { Options = { InitialSilosCount = 1 } };
        builder.AddSiloBuilderConfigurator<CoordinatorOnly>();
        await using var cluster = builder.Build();
        await cluster.DeployAsync(TestContext.Current.CancellationToken);
        var run = cluster.GrainFactory.GetGrain<IAuditRunGrain>($"noworker-{Guid.NewGuid():N}");

        var status = await run.StartAsync(Request());
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (!status.IsFinished)
        {
            timeout.Token.ThrowIfCancellationRequested();
            // The grain answers as soon as the status changes (WaitForChangeAsync): no polling interval.
            status = await run.WaitForChangeAsync(status.Revision, TimeSpan.FromSeconds(5));
        }

        Assert.Equal(RunState.Failed, status.State);
        Assert.Contains("no silo in the cluster has the worker role", status.Error, StringComparison.Ordinal);
        Assert.Contains("Icdiff:Silo:Roles", status.Error, StringComparison.Ordinal);
        await cluster.StopAllSilosAsync(TestContext.Current.CancellationToken);
    }

    private sealed class CoordinatorOnly : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.Configure<AuditSiloOptions>(o =>
            {
                o.DataDirectory = RoleClusterFixture.DataDirectory;
                o.Roles = SiloRoles.Coordinator;
                o.WorkerWaitTimeout = TimeSpan.FromSeconds(3);
            });
            siloBuilder.AddAuditSilo();
        }
    }
}
