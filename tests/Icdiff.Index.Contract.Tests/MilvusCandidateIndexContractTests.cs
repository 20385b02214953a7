using Icdiff.Core;
using Icdiff.Index.Milvus;

namespace Icdiff.Index.Contract.Tests;

/// <summary>The contract against a live Milvus named by MILVUS_URI (and MILVUS_TOKEN when auth is on); each test uses a fresh collection.</summary>
public sealed class MilvusCandidateIndexContractTests : CandidateIndexContract
{
    protected override Task<(ICandidateIndex? Index, string? SkipReason)> CreateAsync()
    {
        var uri = Environment.GetEnvironmentVariable("MILVUS_URI");
        if (string.IsNullOrWhiteSpace(uri))
        {
            return Task.FromResult<(ICandidateIndex?, string?)>((null, "MILVUS_URI is not set: no Milvus server can be installed on this machine (no package, no Docker); set it to run the contract against one"));
        }

        var options = new MilvusOptions
        {
            Uri = uri,
            Token = Environment.GetEnvironmentVariable("MILVUS_TOKEN"),
            Collection = $"icdiff_contract_{Guid.NewGuid():N}",
        };
        return Task.FromResult<(ICandidateIndex?, string?)>((MilvusCandidateIndex.Create(options), null));
    }

    // HNSW with ef = 128 over 500 vectors is near-exact; the bar leaves room for graph construction randomness.
    protected override double MinimumRecall => 0.95;
}
