using Icdiff.Core;
using Icdiff.Index.Embedded;

namespace Icdiff.Index.Contract.Tests;

public sealed class EmbeddedCandidateIndexContractTests : CandidateIndexContract
{
    protected override Task<(ICandidateIndex? Index, string? SkipReason)> CreateAsync() =>
        Task.FromResult<(ICandidateIndex?, string?)>((new EmbeddedCandidateIndex(), null));
}
