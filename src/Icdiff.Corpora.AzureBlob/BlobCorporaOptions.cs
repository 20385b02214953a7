using Icdiff.Core;

namespace Icdiff.Corpora.AzureBlob;

/// <summary>
/// How az:// locations reach storage. With <see cref="ConnectionString"/> set, locations naming its account use
/// it (Azurite, shared key, SAS); any other account is reached at <see cref="ServiceUriTemplate"/> with
/// DefaultAzureCredential (managed identity, workload identity, az login).
/// </summary>
public sealed class BlobCorporaOptions : ISelfCheckingOptions
{
    public const string SectionName = "Icdiff:Blob";

    /// <summary>A storage connection string. A secret: never logged, never part of a location.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Endpoint of accounts reached by credential; <c>{account}</c> is replaced by the account name.</summary>
    public string ServiceUriTemplate { get; set; } = "https://{account}.blob.core.windows.net";

    /// <summary>Retries of one request on transient failures (connection refused, timeouts, 408/429/5xx).</summary>
    public int MaxRetries { get; set; } = 8;

    /// <summary>First retry delay; doubled each retry up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(400);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>Time limit of one try of one request.</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Throws one <see cref="ArgumentException"/> naming every problem (see <see cref="Problems"/>).</summary>
    public void Validate() => SettingsProblems.ThrowIfAny(Problems());

    IEnumerable<string> ISelfCheckingOptions.Problems() => Problems();

    /// <summary>Every problem of these options, each naming its key.</summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        if (MaxRetries is < 0 or > 50)
        {
            problems.Add($"{SectionName}:{nameof(MaxRetries)} must be 0..50 (got {MaxRetries}).");
        }

        if (RetryDelay <= TimeSpan.Zero || MaxRetryDelay < RetryDelay)
        {
            problems.Add($"{SectionName}:{nameof(RetryDelay)} must be positive and at most {SectionName}:{nameof(MaxRetryDelay)}.");
        }

        if (NetworkTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{SectionName}:{nameof(NetworkTimeout)} must be positive.");
        }

        if (!ServiceUriTemplate.Contains("{account}", StringComparison.Ordinal) || !Uri.TryCreate(ServiceUriTemplate.Replace("{account}", "a", StringComparison.Ordinal), UriKind.Absolute, out _))
        {
            problems.Add($"{SectionName}:{nameof(ServiceUriTemplate)} must be an absolute URI containing {{account}} (got '{ServiceUriTemplate}').");
        }

        return problems;
    }
}
