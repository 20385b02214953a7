using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Polly;
using Polly.Retry;

namespace Icdiff.Index.Milvus;

/// <summary>
/// A typed client of Milvus' REST API v2. Every call is a POST of JSON; the reply's <c>code</c> decides success (HTTP
/// status is 200 for application errors). Failures become <see cref="MilvusException"/> with the server's code and
/// message; retriable codes and transport failures are retried with doubling delays. Inserts and searches are
/// split so that no request body exceeds <see cref="MilvusOptions.MaxRequestBytes"/> and no search carries more than
/// <see cref="MilvusOptions.MaxQueriesPerSearch"/> vectors. The token is sent as a bearer header and appears nowhere else.
/// </summary>
public sealed class MilvusRestClient
{
    private readonly HttpClient _http;
    private readonly MilvusOptions _options;
    private readonly Uri _base;
    private readonly ResiliencePipeline _retry;

    /// <summary>A client with its own pooled HTTP connection (keep-alive; the REST API shares the gRPC port).</summary>
    public static MilvusRestClient Connect(MilvusOptions options)
    {
        var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
        return new MilvusRestClient(http, options);
    }

    public MilvusRestClient(HttpClient http, MilvusOptions options)
    {
        options.Validate();
        _http = http;
        _options = options;
        _base = new Uri(options.Uri!.TrimEnd('/') + "/v2/vectordb/");
        // Retriable refusals (rate limits, a collection still loading, 5xx, dropped connections) get MaxRetries more
        // attempts with doubling delays; any other error is the caller's at once.
        _retry = options.MaxRetries == 0 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<MilvusException>(ex => ex.IsRetriable),
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
            })
            .Build();
    }

    public async Task CreateCollectionAsync(string collection, IReadOnlyList<MilvusField> fields, IReadOnlyList<MilvusIndexSpec> indexes, CancellationToken cancellationToken)
    {
        var schemaFields = new JsonArray();
        foreach (var field in fields)
        {
            var node = new JsonObject { ["fieldName"] = field.Name, ["dataType"] = field.DataType };
            if (field.IsPrimary)
            {
                node["isPrimary"] = true;
            }

            var typeParams = new JsonObject();
            if (field.Dim is { } dim)
            {
                typeParams["dim"] = dim.ToString(CultureInfo.InvariantCulture);
            }

            if (field.MaxLength is { } max)
            {
                typeParams["max_length"] = max.ToString(CultureInfo.InvariantCulture);
            }

            if (typeParams.Count > 0)
            {
                node["elementTypeParams"] = typeParams;
            }

            schemaFields.Add(node);
        }

        var body = new JsonObject
        {
            ["collectionName"] = collection,
            ["schema"] = new JsonObject { ["autoID"] = false, ["enableDynamicField"] = false, ["fields"] = schemaFields },
            ["indexParams"] = IndexParams(indexes),
            ["params"] = new JsonObject { ["consistencyLevel"] = _options.ConsistencyLevel },
        };
        await PostAsync("collections/create", body, cancellationToken);
    }

    public async Task<bool> HasCollectionAsync(string collection, CancellationToken cancellationToken)
    {
        var data = await PostAsync("collections/has", Named(collection), cancellationToken);
        return data.TryGetProperty("has", out var has) && has.ValueKind == JsonValueKind.True;
    }

    /// <summary>Lists the database's collections, once and without retries: proves that the server answers and accepts the token.</summary>
    public async Task ProbeAsync(CancellationToken cancellationToken)
    {
        var body = new JsonObject();
        if (!string.IsNullOrEmpty(_options.Database))
        {
            body["dbName"] = _options.Database;
        }

        await SendOnceAsync("collections/list", Encoding.UTF8.GetBytes(body.ToJsonString()), cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListCollectionsAsync(CancellationToken cancellationToken)
    {
        var body = new JsonObject();
        if (!string.IsNullOrEmpty(_options.Database))
        {
            body["dbName"] = _options.Database;
        }

        var data = await PostAsync("collections/list", body, cancellationToken);
        return data.ValueKind == JsonValueKind.Array ? [.. data.EnumerateArray().Select(e => e.GetString() ?? string.Empty)] : [];
    }

    public Task DropCollectionAsync(string collection, CancellationToken cancellationToken) =>
        PostAsync("collections/drop", Named(collection), cancellationToken);

    public Task<JsonElement> DescribeCollectionAsync(string collection, CancellationToken cancellationToken) =>
        PostAsync("collections/describe", Named(collection), cancellationToken);

    public async Task CreateIndexAsync(string collection, IReadOnlyList<MilvusIndexSpec> indexes, CancellationToken cancellationToken)
    {
        var body = Named(collection);
        body["indexParams"] = IndexParams(indexes);
        await PostAsync("indexes/create", body, cancellationToken);
    }

    public async Task<MilvusIndexState> DescribeIndexAsync(string collection, string indexName, CancellationToken cancellationToken)
    {
        var body = Named(collection);
        body["indexName"] = indexName;
        var data = await PostAsync("indexes/describe", body, cancellationToken);
        // The server answers with a list of index descriptions (one per matching index).
        var index = data.ValueKind == JsonValueKind.Array ? data.EnumerateArray().FirstOrDefault() : data;
        if (index.ValueKind != JsonValueKind.Object)
        {
            throw new MilvusException("indexes/describe", 700, $"index '{indexName}' not found on '{collection}'");
        }

        return new MilvusIndexState(
            Text(index, "indexState") ?? "Unknown",
            Number(index, "totalRows"),
            Number(index, "indexedRows"),
            Number(index, "pendingRows"),
            Text(index, "failReason") is { Length: > 0 } reason ? reason : null);
    }

    /// <summary>Polls the index build until it finishes; a failed build or the ready timeout is an error.</summary>
    public async Task<MilvusIndexState> WaitForIndexAsync(string collection, string indexName, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ReadyTimeout);
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            var state = await DescribeIndexAsync(collection, indexName, timeout.Token);
            if (state.IsFailed)
            {
                throw new MilvusException("indexes/describe", 701, $"index '{indexName}' build failed: {state.FailReason}");
            }

            if (state.IsFinished && state.PendingRows == 0)
            {
                return state;
            }

            await Task.Delay(delay, timeout.Token);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
    }

    public Task LoadCollectionAsync(string collection, CancellationToken cancellationToken) =>
        PostAsync("collections/load", Named(collection), cancellationToken);

    public async Task<(string State, int Progress)> GetLoadStateAsync(string collection, CancellationToken cancellationToken)
    {
        var data = await PostAsync("collections/get_load_state", Named(collection), cancellationToken);
        return (Text(data, "loadState") ?? "Unknown", (int)Number(data, "loadProgress"));
    }

    public async Task WaitForLoadAsync(string collection, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ReadyTimeout);
        while ((await GetLoadStateAsync(collection, timeout.Token)).State != "LoadStateLoaded")
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), timeout.Token);
        }
    }

    public Task FlushAsync(string collection, CancellationToken cancellationToken) =>
        PostAsync("collections/flush", Named(collection), cancellationToken);

    /// <summary>Inserts rows in as many requests as the body limit needs; returns the count the server reported.</summary>
    public Task<long> InsertAsync(string collection, IReadOnlyList<JsonObject> rows, CancellationToken cancellationToken) =>
        WriteRowsAsync("entities/insert", "insertCount", collection, rows, cancellationToken);

    /// <summary>Inserts or replaces rows by primary key, split like <see cref="InsertAsync"/>.</summary>
    public Task<long> UpsertAsync(string collection, IReadOnlyList<JsonObject> rows, CancellationToken cancellationToken) =>
        WriteRowsAsync("entities/upsert", "upsertCount", collection, rows, cancellationToken);

    /// <summary>
    /// Searches <paramref name="vectors"/> in batches and splits each reply into per-query hit lists by <c>topks</c>
    /// (the flat form the server builds; a nested list per query is accepted too).
    /// </summary>
    public async Task<IReadOnlyList<IReadOnlyList<MilvusHit>>> SearchAsync(
        string collection,
        string annsField,
        IReadOnlyList<float[]> vectors,
        int limit,
        string metricType,
        IReadOnlyDictionary<string, string> searchParams,
        IReadOnlyList<string> outputFields,
        MilvusVectorType vectorType,
        string? filter,
        CancellationToken cancellationToken)
    {
        if (limit is < 1 or > 16_384)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "Milvus allows a limit of 1..16384.");
        }

        var results = new List<IReadOnlyList<MilvusHit>>(vectors.Count);
        var perVector = vectors.Count == 0 ? 1 : EncodeVector(vectors[0], vectorType).ToJsonString().Length + 1;
        var perRequest = Math.Max(1, Math.Min(_options.MaxQueriesPerSearch, (_options.MaxRequestBytes - 4096) / perVector));
        for (var start = 0; start < vectors.Count; start += perRequest)
        {
            var count = Math.Min(perRequest, vectors.Count - start);
            var data = new JsonArray();
            for (var i = start; i < start + count; i++)
            {
                data.Add(EncodeVector(vectors[i], vectorType));
            }

            var parameters = new JsonObject();
            foreach (var (key, value) in searchParams)
            {
                parameters[key] = ParamValue(value);
            }

            var body = Named(collection);
            body["data"] = data;
            body["annsField"] = annsField;
            body["limit"] = limit;
            body["outputFields"] = new JsonArray([.. outputFields.Select(f => (JsonNode)JsonValue.Create(f))]);
            body["searchParams"] = new JsonObject { ["metricType"] = metricType, ["params"] = parameters };
            body["consistencyLevel"] = _options.ConsistencyLevel;
            if (filter is not null)
            {
                body["filter"] = filter;
            }

            var (reply, topks) = await PostForSearchAsync(body, cancellationToken);
            results.AddRange(SplitHits(reply, topks, count));
        }

        return results;
    }

    /// <summary>Rows matching a boolean expression; <paramref name="limit"/> is always sent (the server's default is 100).</summary>
    public async Task<IReadOnlyList<JsonElement>> QueryAsync(string collection, string filter, IReadOnlyList<string> outputFields, int limit, CancellationToken cancellationToken)
    {
        var body = Named(collection);
        body["filter"] = filter;
        body["outputFields"] = new JsonArray([.. outputFields.Select(f => (JsonNode)JsonValue.Create(f))]);
        if (limit > 0)
        {
            body["limit"] = limit;
        }

        body["consistencyLevel"] = _options.ConsistencyLevel;
        var data = await PostAsync("entities/query", body, cancellationToken);
        return data.ValueKind == JsonValueKind.Array ? [.. data.EnumerateArray()] : [];
    }

    public async Task DeleteAsync(string collection, string filter, CancellationToken cancellationToken)
    {
        var body = Named(collection);
        body["filter"] = filter;
        await PostAsync("entities/delete", body, cancellationToken);
    }

    /// <summary>"id in [1,2,3]" for int64 ids.</summary>
    public static string IdFilter(string field, IEnumerable<long> ids) =>
        $"{field} in [{string.Join(',', ids.Select(i => i.ToString(CultureInfo.InvariantCulture)))}]";

    /// <summary>A vector as the REST API takes it: a float array, or base64 of little-endian float16 for Float16Vector.</summary>
    public static JsonNode EncodeVector(ReadOnlySpan<float> vector, MilvusVectorType type)
    {
        if (type == MilvusVectorType.Float16Vector)
        {
            var bytes = new byte[vector.Length * 2];
            for (var i = 0; i < vector.Length; i++)
            {
                BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)vector[i]);
            }

            return JsonValue.Create(Convert.ToBase64String(bytes));
        }

        var array = new JsonArray();
        foreach (var v in vector)
        {
            array.Add(v);
        }

        return array;
    }

    /// <summary>Reads an int64 primary key whether the server wrote it as a number or, without Accept-Type-Allow-Int64, a string.</summary>
    public static long ReadId(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetInt64(),
        JsonValueKind.String when long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) => id,
        _ => throw new MilvusException("entities", 1805, $"a primary key is not an int64: {value.GetRawText()}"),
    };

    private async Task<long> WriteRowsAsync(string endpoint, string countField, string collection, IReadOnlyList<JsonObject> rows, CancellationToken cancellationToken)
    {
        var prefix = Encoding.UTF8.GetBytes(new JsonObject { ["collectionName"] = collection }.ToJsonString()[..^1] + ",\"data\":[");
        var total = 0L;
        var batch = new List<byte[]>();
        var size = prefix.Length + 2;
        foreach (var row in rows)
        {
            var encoded = Encoding.UTF8.GetBytes(row.ToJsonString());
            if (encoded.Length + prefix.Length + 2 > _options.MaxRequestBytes)
            {
                throw new MilvusException(endpoint, 1804, $"one row is {encoded.Length} bytes, more than the request limit of {_options.MaxRequestBytes}");
            }

            if (batch.Count > 0 && size + encoded.Length + 1 > _options.MaxRequestBytes)
            {
                total += await SendRowsAsync(endpoint, countField, prefix, batch, cancellationToken);
                batch.Clear();
                size = prefix.Length + 2;
            }

            batch.Add(encoded);
            size += encoded.Length + 1;
        }

        if (batch.Count > 0)
        {
            total += await SendRowsAsync(endpoint, countField, prefix, batch, cancellationToken);
        }

        return total;
    }

    private async Task<long> SendRowsAsync(string endpoint, string countField, byte[] prefix, List<byte[]> rows, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        body.Write(prefix);
        for (var i = 0; i < rows.Count; i++)
        {
            if (i > 0)
            {
                body.WriteByte((byte)',');
            }

            body.Write(rows[i]);
        }

        body.Write("]}"u8);
        var data = await SendAsync(endpoint, body.ToArray(), cancellationToken);
        return Number(data.Data, countField);
    }

    private async Task<(JsonElement Data, JsonElement? Topks)> PostForSearchAsync(JsonObject body, CancellationToken cancellationToken)
    {
        var reply = await SendAsync("entities/search", Encoding.UTF8.GetBytes(body.ToJsonString()), cancellationToken);
        return (reply.Data, reply.Topks);
    }

    private static IEnumerable<IReadOnlyList<MilvusHit>> SplitHits(JsonElement data, JsonElement? topks, int queries)
    {
        if (data.ValueKind != JsonValueKind.Array)
        {
            throw new MilvusException("entities/search", 1805, "search reply has no data list");
        }

        var items = data.EnumerateArray().ToArray();
        if (items.Length > 0 && items[0].ValueKind == JsonValueKind.Array)
        {
            if (items.Length != queries)
            {
                throw new MilvusException("entities/search", 1805, $"search reply has {items.Length} hit lists for {queries} queries");
            }

            foreach (var list in items)
            {
                yield return [.. list.EnumerateArray().Select(Hit)];
            }

            yield break;
        }

        int[] counts;
        if (topks is { ValueKind: JsonValueKind.Array } t)
        {
            counts = [.. t.EnumerateArray().Select(c => c.GetInt32())];
        }
        else if (queries == 1)
        {
            counts = [items.Length];
        }
        else
        {
            throw new MilvusException("entities/search", 1805, $"search reply for {queries} queries has no topks to split its {items.Length} hits");
        }

        if (counts.Length != queries || counts.Sum() != items.Length)
        {
            throw new MilvusException("entities/search", 1805, $"search reply topks [{string.Join(',', counts)}] do not fit {items.Length} hits for {queries} queries");
        }

        var offset = 0;
        foreach (var count in counts)
        {
            yield return [.. items.Skip(offset).Take(count).Select(Hit)];
            offset += count;
        }
    }

    private static MilvusHit Hit(JsonElement item)
    {
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        long? id = null;
        float distance = 0;
        foreach (var property in item.EnumerateObject())
        {
            switch (property.Name)
            {
                case "id":
                    id = ReadId(property.Value);
                    break;
                case "distance":
                    distance = property.Value.GetSingle();
                    break;
                default:
                    fields[property.Name] = property.Value.Clone();
                    break;
            }
        }

        return new MilvusHit(id ?? throw new MilvusException("entities/search", 1805, "a search hit has no id"), distance, fields);
    }

    private async Task<JsonElement> PostAsync(string endpoint, JsonObject body, CancellationToken cancellationToken) =>
        (await SendAsync(endpoint, Encoding.UTF8.GetBytes(body.ToJsonString()), cancellationToken)).Data;

    private async Task<(JsonElement Data, JsonElement? Topks)> SendAsync(string endpoint, byte[] body, CancellationToken cancellationToken) =>
        await _retry.ExecuteAsync(async ct => await SendOnceAsync(endpoint, body, ct), cancellationToken);

    private async Task<(JsonElement Data, JsonElement? Topks)> SendOnceAsync(string endpoint, byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_base, endpoint));
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.TryAddWithoutValidation("Accept-Type-Allow-Int64", "true");
        request.Headers.TryAddWithoutValidation("Request-Timeout", ((int)Math.Ceiling(_options.RequestTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(_options.Token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.Token);
        }

        if (!string.IsNullOrEmpty(_options.Database))
        {
            request.Headers.TryAddWithoutValidation("DB-Name", _options.Database);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, timeout.Token);
        }
        catch (HttpRequestException ex)
        {
            throw new MilvusException(endpoint, -1, $"unreachable ({ex.Message})", 0, ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MilvusException(endpoint, -1, $"no reply within {_options.RequestTimeout.TotalSeconds:0} s", 408, ex);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var snippet = text.Length > 200 ? text[..200] : text;
                throw new MilvusException(endpoint, -1, $"HTTP {(int)response.StatusCode}: {snippet}", (int)response.StatusCode);
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(text);
            }
            catch (JsonException ex)
            {
                throw new MilvusException(endpoint, 1805, $"reply is not JSON: {ex.Message}", 200, ex);
            }

            using (document)
            {
                var root = document.RootElement;
                var code = root.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : -2;
                if (code != 0)
                {
                    var message = Text(root, "message") ?? "(no message)";
                    throw new MilvusException(endpoint, code, message);
                }

                var data = root.TryGetProperty("data", out var d) ? d.Clone() : default;
                JsonElement? topks = root.TryGetProperty("topks", out var t) ? t.Clone() : null;
                return (data, topks);
            }
        }
    }

    private JsonObject Named(string collection)
    {
        var body = new JsonObject { ["collectionName"] = collection };
        if (!string.IsNullOrEmpty(_options.Database))
        {
            body["dbName"] = _options.Database;
        }

        return body;
    }

    private static JsonArray IndexParams(IReadOnlyList<MilvusIndexSpec> indexes)
    {
        var array = new JsonArray();
        foreach (var index in indexes)
        {
            var parameters = new JsonObject { ["index_type"] = index.IndexType };
            foreach (var (key, value) in index.Params)
            {
                parameters[key] = ParamValue(value);
            }

            array.Add(new JsonObject
            {
                ["fieldName"] = index.FieldName,
                ["indexName"] = index.IndexName,
                ["metricType"] = index.MetricType,
                ["params"] = parameters,
            });
        }

        return array;
    }

    /// <summary>Numeric parameters go as numbers (M, ef, nlist...), anything else as text.</summary>
    private static JsonNode ParamValue(string value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var integer) ? JsonValue.Create(integer)
        : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) ? JsonValue.Create(real)
        : JsonValue.Create(value);

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText() : null;

    private static long Number(JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var v))
        {
            return 0;
        }

        return v.ValueKind switch
        {
            JsonValueKind.Number => v.GetInt64(),
            JsonValueKind.String when long.TryParse(v.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) => n,
            _ => 0,
        };
    }
}
