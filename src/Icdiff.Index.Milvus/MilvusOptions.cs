using Icdiff.Core;

namespace Icdiff.Index.Milvus;

/// <summary>Vector element type stored in Milvus; float16 halves memory and request size at a small precision cost.</summary>
public enum MilvusVectorType
{
    FloatVector,
    Float16Vector,
}

/// <summary>Connection, collection and index settings for the Milvus candidate index (section <see cref="SectionName"/>).</summary>
public sealed class MilvusOptions : ISelfCheckingOptions
{
    public const string SectionName = "Icdiff:Milvus";

    /// <summary>The REST endpoint, e.g. http://milvus:19530.</summary>
    public string? Uri { get; set; }

    /// <summary>Bearer token: "user:password" or an API key. A secret: never logged, never in messages.</summary>
    public string? Token { get; set; }

    public string? Database { get; set; }

    public string Collection { get; set; } = "icdiff_gallery";

    public MilvusVectorType VectorType { get; set; } = MilvusVectorType.FloatVector;

    /// <summary>HNSW, IVF_FLAT or DISKANN (passed through as index_type).</summary>
    public string IndexType { get; set; } = "HNSW";

    /// <summary>Build parameters, e.g. M and efConstruction for HNSW, nlist for IVF_FLAT.</summary>
    public Dictionary<string, string> IndexParams { get; set; } = new() { ["M"] = "16", ["efConstruction"] = "200" };

    /// <summary>Search parameters, e.g. ef for HNSW (raised to at least k), nprobe for IVF_FLAT, search_list for DISKANN.</summary>
    public Dictionary<string, string> SearchParams { get; set; } = new() { ["ef"] = "128" };

    /// <summary>Largest request body sent; inserts and searches are split below it (the server's limit is 64 MB).</summary>
    public int MaxRequestBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Query vectors per search request (the server allows up to 16,384).</summary>
    public int MaxQueriesPerSearch { get; set; } = 256;

    public int MaxRetries { get; set; } = 5;

    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long index builds and loads are waited for.</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromMinutes(30);

    public int SourceMaxLength { get; set; } = 1024;

    /// <summary>Written with every row so a collection shared by several gallery versions can be filtered.</summary>
    public string GalleryVersion { get; set; } = "1";

    public string ConsistencyLevel { get; set; } = "Strong";

    /// <summary>Throws naming the configuration key of the first invalid value.</summary>
    /// <summary>Throws one <see cref="ArgumentException"/> naming every problem (see <see cref="Problems"/>).</summary>
    public void Validate() => SettingsProblems.ThrowIfAny(Problems());

    IEnumerable<string> ISelfCheckingOptions.Problems() => Problems();

    /// <summary>Every problem of these options, each naming its key.</summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Uri) || !System.Uri.TryCreate(Uri, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            problems.Add($"{SectionName}:{nameof(Uri)} must be an http(s) URI (got '{Uri}').");
        }

        if (string.IsNullOrWhiteSpace(Collection) || Collection.Length > 255 || !Collection.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') || char.IsAsciiDigit(Collection[0]))
        {
            problems.Add($"{SectionName}:{nameof(Collection)} must be 1-255 letters, digits or '_' starting with a letter or '_' (got '{Collection}').");
        }

        if (IndexType is not ("HNSW" or "IVF_FLAT" or "DISKANN" or "FLAT" or "AUTOINDEX"))
        {
            problems.Add($"{SectionName}:{nameof(IndexType)} must be HNSW, IVF_FLAT, DISKANN, FLAT or AUTOINDEX (got '{IndexType}').");
        }

        if (MaxRequestBytes is < 64 * 1024 or > 64 * 1024 * 1024)
        {
            problems.Add($"{SectionName}:{nameof(MaxRequestBytes)} must be 65536..67108864 (got {MaxRequestBytes}).");
        }

        if (MaxQueriesPerSearch is < 1 or > 16_384)
        {
            problems.Add($"{SectionName}:{nameof(MaxQueriesPerSearch)} must be 1..16384 (got {MaxQueriesPerSearch}).");
        }

        if (MaxRetries is < 0 or > 20 || RetryDelay <= TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero || ReadyTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{SectionName}: {nameof(MaxRetries)} must be 0..20 and {nameof(RetryDelay)}, {nameof(RequestTimeout)}, {nameof(ReadyTimeout)} positive.");
        }

        if (SourceMaxLength is < 16 or > 65_535)
        {
            problems.Add($"{SectionName}:{nameof(SourceMaxLength)} must be 16..65535 (got {SourceMaxLength}).");
        }

        if (ConsistencyLevel is not ("Strong" or "Session" or "Bounded" or "Eventually"))
        {
            problems.Add($"{SectionName}:{nameof(ConsistencyLevel)} must be Strong, Session, Bounded or Eventually (got '{ConsistencyLevel}').");
        }

        return problems;
    }
}
