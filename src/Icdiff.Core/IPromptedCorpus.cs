namespace Icdiff.Core;

/// <summary>
/// A corpus whose items can carry the text prompt they were generated from (a manifest with a prompt column). The
/// dashboard shows it beside a match; the audit itself never reads it.
/// </summary>
public interface IPromptedCorpus
{
    /// <summary>The prompt of every listed item that has one, by item key.</summary>
    IAsyncEnumerable<KeyValuePair<string, string>> ListPromptsAsync(CancellationToken cancellationToken);
}
