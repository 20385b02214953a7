namespace Icdiff.Core;

/// <summary>Picks the provider that understands a location; one place to say "no provider for this location".</summary>
public sealed class CorpusSourceResolver(IEnumerable<ICorpusSourceProvider> providers)
{
    private readonly ICorpusSourceProvider[] _providers = [.. providers];

    public ICorpusSource Open(string location)
    {
        if (string.IsNullOrWhiteSpace(location))
        {
            throw new CorpusException("a corpus location is empty.");
        }

        var provider = _providers.FirstOrDefault(p => p.CanOpen(location))
            ?? throw new CorpusException($"no corpus provider understands '{location}'.");
        return provider.Open(location);
    }
}
