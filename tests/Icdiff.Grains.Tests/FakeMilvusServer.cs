using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Icdiff.Grains.Tests;

/// <summary>
/// A stand-in for Milvus' REST API v2, for unit tests of the Milvus backend's own code (passes, token segments,
/// deletions, exact re-ranking): collections in memory, exact float32 cosine search, the replies' shapes as the
/// real server writes them. It is not Milvus; <see cref="MilvusIndexTests"/> runs the same audit against a real
/// server when MILVUS_URI names one.
/// </summary>
internal sealed class FakeMilvusServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, Collection> _collections = new(StringComparer.Ordinal);
    private readonly Task _loop;

    public FakeMilvusServer()
    {
        var port = FreePort();
        Uri = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Uri + "/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public string Uri { get; }

    public int Requests;

    /// <summary>Rows per collection whose name starts with <paramref name="prefix"/>.</summary>
    public IReadOnlyDictionary<string, int> RowCounts(string prefix) =>
        _collections.Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(c => c.Key, c => c.Value.Rows.Count);

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
        {
            // Stopped while waiting for the next request.
        }

        _listener.Close();
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => AnswerAsync(context));
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        Interlocked.Increment(ref Requests);
        string reply;
        try
        {
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = JsonNode.Parse(await reader.ReadToEndAsync())!.AsObject();
            var endpoint = context.Request.Url!.AbsolutePath["/v2/vectordb/".Length..];
            reply = Handle(endpoint, body).ToJsonString();
        }
        catch (Exception ex)
        {
            reply = new JsonObject { ["code"] = 1100, ["message"] = ex.Message }.ToJsonString();
        }

        var bytes = Encoding.UTF8.GetBytes(reply);
        context.Response.ContentType = "application/json";
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }

    private JsonObject Handle(string endpoint, JsonObject body)
    {
        var name = (string?)body["collectionName"] ?? string.Empty;
        switch (endpoint)
        {
            case "collections/list":
                return Ok(new JsonArray([.. _collections.Keys.Select(k => (JsonNode)JsonValue.Create(k))]));
            case "collections/has":
                return Ok(new JsonObject { ["has"] = _collections.ContainsKey(name) });
            case "collections/create":
                var fields = body["schema"]!["fields"]!.AsArray();
                var vector = fields.First(f => ((string?)f!["dataType"])!.EndsWith("Vector", StringComparison.Ordinal))!;
                _collections.TryAdd(name, new Collection(
                    (string)fields.First(f => (bool?)f!["isPrimary"] == true)!["fieldName"]!,
                    (string)vector["fieldName"]!,
                    int.Parse((string)vector["elementTypeParams"]!["dim"]!, CultureInfo.InvariantCulture)));
                return Ok(new JsonObject());
            case "collections/drop":
                _collections.TryRemove(name, out _);
                return Ok(new JsonObject());
        }

        if (!_collections.TryGetValue(name, out var collection))
        {
            return new JsonObject { ["code"] = 100, ["message"] = $"collection not found[collection={name}]" };
        }

        lock (collection)
        {
            switch (endpoint)
            {
                case "indexes/describe":
                    return Ok(new JsonArray(new JsonObject { ["indexState"] = "Finished", ["totalRows"] = collection.Rows.Count, ["indexedRows"] = collection.Rows.Count, ["pendingRows"] = 0 }));
                case "collections/load":
                case "collections/flush":
                    return Ok(new JsonObject());
                case "collections/get_load_state":
                    return Ok(new JsonObject { ["loadState"] = "LoadStateLoaded", ["loadProgress"] = 100 });
                case "entities/upsert":
                    var rows = body["data"]!.AsArray();
                    foreach (var row in rows)
                    {
                        var proxy = row![collection.VectorField]!.AsArray().Select(v => (float)v!).ToArray();
                        if (proxy.Length != collection.Dim)
                        {
                            throw new InvalidOperationException($"vector of {proxy.Length} floats for a collection of dim {collection.Dim}");
                        }

                        collection.Rows[(long)row[collection.IdField]!] = (row.DeepClone().AsObject(), proxy);
                    }

                    return Ok(new JsonObject { ["upsertCount"] = rows.Count });
                case "entities/delete":
                    var filter = (string)body["filter"]!;
                    var list = filter[(filter.IndexOf('[', StringComparison.Ordinal) + 1)..filter.LastIndexOf(']')];
                    foreach (var id in list.Split(',', StringSplitOptions.RemoveEmptyEntries))
                    {
                        collection.Rows.Remove(long.Parse(id, CultureInfo.InvariantCulture));
                    }

                    return Ok(new JsonObject());
                case "entities/search":
                    return Search(collection, body);
                default:
                    return new JsonObject { ["code"] = 1100, ["message"] = $"the fake does not serve {endpoint}" };
            }
        }
    }

    private static JsonObject Search(Collection collection, JsonObject body)
    {
        var limit = (int)body["limit"]!;
        var outputs = body["outputFields"]!.AsArray().Select(f => (string)f!).ToArray();
        var data = new JsonArray();
        var topks = new JsonArray();
        foreach (var query in body["data"]!.AsArray())
        {
            var q = query!.AsArray().Select(v => (float)v!).ToArray();
            var hits = collection.Rows
                .Select(r => (Row: r.Value.Row, Id: r.Key, Score: Cosine(q, r.Value.Proxy)))
                .OrderByDescending(h => h.Score).ThenBy(h => h.Id)
                .Take(limit)
                .ToList();
            foreach (var hit in hits)
            {
                var item = new JsonObject { ["id"] = hit.Id, ["distance"] = hit.Score };
                foreach (var field in outputs)
                {
                    item[field] = hit.Row[field]!.DeepClone();
                }

                data.Add(item);
            }

            topks.Add(hits.Count);
        }

        return new JsonObject { ["code"] = 0, ["data"] = data, ["topks"] = topks };
    }

    private static float Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }

        return (float)(dot / Math.Sqrt(na * nb));
    }

    private static JsonObject Ok(JsonNode data) => new() { ["code"] = 0, ["data"] = data };

    private sealed record Collection(string IdField, string VectorField, int Dim)
    {
        public Dictionary<long, (JsonObject Row, float[] Proxy)> Rows { get; } = [];
    }
}
