using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Icdiff.Silo;

/// <summary>
/// Ready once this silo is an active member of the cluster (the web host starts before the silo has joined), and
/// unhealthy again while it is missing from the membership table (Redis restarted empty): clients cannot find it then.
/// The description is what <c>/healthz</c> answers: <c>active</c>, the silo's status, or why it is not found.
/// </summary>
internal sealed class SiloMembershipHealthCheck(Orleans.Runtime.ISiloStatusOracle membership, MembershipGuard guard) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(membership.CurrentStatus != Orleans.Runtime.SiloStatus.Active
            ? HealthCheckResult.Unhealthy(membership.CurrentStatus.ToString().ToLowerInvariant())
            : guard.Healthy ? HealthCheckResult.Healthy("active") : HealthCheckResult.Unhealthy("not in the membership table"));
}
