namespace Icdiff.Index.Milvus;

/// <summary>A field of a collection schema as REST v2 names it (dataType: Int64, VarChar, FloatVector, Float16Vector...).</summary>
public sealed record MilvusField(string Name, string DataType, bool IsPrimary = false, int? Dim = null, int? MaxLength = null);

/// <summary>An index on a vector field: type (HNSW, IVF_FLAT, DISKANN...), metric and build parameters.</summary>
public sealed record MilvusIndexSpec(string FieldName, string IndexName, string IndexType, string MetricType, IReadOnlyDictionary<string, string> Params);

/// <summary>What indexes/describe says of an index build.</summary>
public sealed record MilvusIndexState(string State, long TotalRows, long IndexedRows, long PendingRows, string? FailReason)
{
    public bool IsFinished => string.Equals(State, "Finished", StringComparison.OrdinalIgnoreCase);

    public bool IsFailed => string.Equals(State, "Failed", StringComparison.OrdinalIgnoreCase);
}

/// <summary>One search hit: the primary key, the distance (a similarity for COSINE and IP), and the requested output fields.</summary>
public sealed record MilvusHit(long Id, float Distance, IReadOnlyDictionary<string, System.Text.Json.JsonElement> Fields);
