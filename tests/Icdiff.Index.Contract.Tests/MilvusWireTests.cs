using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Icdiff.Core;
using Icdiff.Index.Milvus;

namespace Icdiff.Index.Contract.Tests;

/// <summary>
/// The Milvus client's requests and reply parsing, checked against the shapes Milvus' REST v2 documentation gives
/// (shared/docs/milvus-rest.md), with a recording handler standing in for the network. A live server is exercised
/// by the contract suite when MILVUS_URI is set.
/// </summary>
public sealed class MilvusWireTests
{
    private const string Secret = "root:Sup3rS3cret";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static (MilvusRestClient Client, RecordingHandler Handler, MilvusOptions Options) Create(Action<MilvusOptions>? configure = null, params string[] replies)
    {
        var options = new MilvusOptions { Uri = "http://milvus.test:19530", Token = Secret, RetryDelay = TimeSpan.FromMilliseconds(1) };
        configure?.Invoke(options);
        var handler = new RecordingHandler(replies);
        return (new MilvusRestClient(new HttpClient(handler), options), handler, options);
    }

    [Fact]
    public async Task CreateCollection_SendsTheExplicitSchemaAndIndex_WithAuthAndInt64Headers()
    {
        var (client, handler, _) = Create(null, """{"code":0,"data":{}}""");

        await client.CreateCollectionAsync(
            "gallery_v1",
            [new("id", "Int64", IsPrimary: true), new("proxy", "Float16Vector", Dim: 768), new("source", "VarChar", MaxLength: 1024)],
            [new("proxy", "proxy_index", "HNSW", "COSINE", new Dictionary<string, string> { ["M"] = "16", ["efConstruction"] = "200" })],
            Token);

        var request = Assert.Single(handler.Requests);
        Assert.Equal("http://milvus.test:19530/v2/vectordb/collections/create", request.Uri);
        Assert.Equal($"Bearer {Secret}", request.Authorization);
        Assert.Equal("true", request.Headers["Accept-Type-Allow-Int64"]);
        Assert.Equal("application/json", request.ContentType);
        var body = JsonNode.Parse(request.Body)!;
        Assert.Equal("gallery_v1", (string?)body["collectionName"]);
        Assert.False((bool)body["schema"]!["autoID"]!);
        var fields = body["schema"]!["fields"]!.AsArray();
        Assert.Equal("""{"fieldName":"id","dataType":"Int64","isPrimary":true}""", fields[0]!.ToJsonString());
        Assert.Equal("""{"fieldName":"proxy","dataType":"Float16Vector","elementTypeParams":{"dim":"768"}}""", fields[1]!.ToJsonString());
        Assert.Equal("""{"fieldName":"source","dataType":"VarChar","elementTypeParams":{"max_length":"1024"}}""", fields[2]!.ToJsonString());
        Assert.Equal("""[{"fieldName":"proxy","indexName":"proxy_index","metricType":"COSINE","params":{"index_type":"HNSW","M":16,"efConstruction":200}}]""", body["indexParams"]!.ToJsonString());
    }

    [Fact]
    public async Task ErrorBody_BecomesATypedException_WithTheServersCodeAndMessage_AndIsNotRetried()
    {
        var (client, handler, _) = Create(null, """{"code":100,"message":"collection not found[database=default][collection=nope]"}""");

        var error = await Assert.ThrowsAsync<MilvusException>(() => client.DescribeCollectionAsync("nope", Token));

        Assert.Equal(100, error.Code);
        Assert.True(error.IsCollectionNotFound);
        Assert.False(error.IsRetriable);
        Assert.Equal("collection not found[database=default][collection=nope]", error.ServerMessage);
        Assert.Contains("collections/describe", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error.Message, StringComparison.Ordinal);
        Assert.Single(handler.Requests);
    }

    [Theory]
    [InlineData("""{"code":2,"message":"service unavailable"}""")]
    [InlineData("""{"code":65538,"message":"service unavailable (retriable flag in the high bits)"}""")]
    [InlineData("""{"code":8,"message":"rate limit exceeded"}""")]
    [InlineData("HTTP 503")]
    public async Task RetriableFailure_IsRetried_ThenSucceeds(string first)
    {
        var (client, handler, _) = Create(null, first, """{"code":0,"data":{"has":true}}""");

        Assert.True(await client.HasCollectionAsync("g", Token));

        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task PersistentRetriableFailure_GivesUpAfterMaxRetries()
    {
        var (client, handler, _) = Create(o => o.MaxRetries = 2, """{"code":1,"message":"not ready"}""", """{"code":1,"message":"not ready"}""", """{"code":1,"message":"not ready"}""");

        var error = await Assert.ThrowsAsync<MilvusException>(() => client.HasCollectionAsync("g", Token));

        Assert.Equal(1, error.Code);
        Assert.Equal(3, handler.Requests.Count);
    }

    [Fact]
    public async Task Http404_FromAnOlderServerWithoutTheRoute_IsNotRetried()
    {
        var (client, handler, _) = Create(null, "HTTP 404");

        var error = await Assert.ThrowsAsync<MilvusException>(() => client.FlushAsync("g", Token));

        Assert.Equal(404, error.HttpStatus);
        Assert.False(error.IsRetriable);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task Insert_IsSplitUnderTheRequestLimit_AndCountsAddUp()
    {
        var replies = Enumerable.Range(0, 50).Select(_ => """{"code":0,"data":{"insertCount":0}}""").ToArray();
        var (client, handler, options) = Create(o => o.MaxRequestBytes = 64 * 1024, replies);
        var random = new Random(1);
        var rows = Enumerable.Range(0, 1000).Select(i => new JsonObject
        {
            ["id"] = i,
            ["proxy"] = MilvusRestClient.EncodeVector([.. Enumerable.Range(0, 32).Select(_ => (float)random.NextDouble())], MilvusVectorType.FloatVector),
            ["source"] = $"az://a/c/{i}.png",
        }).ToList();

        await client.InsertAsync("g", rows, Token);

        Assert.True(handler.Requests.Count > 1, "1000 rows of ~400 bytes must not fit one 64 KB request");
        var ids = new List<long>();
        foreach (var request in handler.Requests)
        {
            Assert.EndsWith("/v2/vectordb/entities/insert", request.Uri, StringComparison.Ordinal);
            Assert.True(Encoding.UTF8.GetByteCount(request.Body) <= options.MaxRequestBytes, $"a request of {request.Body.Length} bytes");
            var body = JsonNode.Parse(request.Body)!;
            Assert.Equal("g", (string?)body["collectionName"]);
            ids.AddRange(body["data"]!.AsArray().Select(r => (long)r!["id"]!));
        }

        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), ids);
    }

    [Fact]
    public void Float16Vector_IsBase64OfLittleEndianHalves()
    {
        float[] vector = [1f, -0.5f, 0.333f, 0f];

        var encoded = MilvusRestClient.EncodeVector(vector, MilvusVectorType.Float16Vector);

        var bytes = Convert.FromBase64String((string)encoded!);
        Assert.Equal(8, bytes.Length);
        for (var i = 0; i < vector.Length; i++)
        {
            Assert.Equal((Half)vector[i], BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(i * 2)));
        }
    }

    [Fact]
    public async Task Search_SplitsTheFlatReplyByTopks_AndReadsIdsGivenAsStrings()
    {
        var (client, handler, _) = Create(null, """{"code":0,"cost":0,"data":[{"id":"9007199254740991","distance":0.91,"source":"a"},{"id":7,"distance":0.5,"source":"b"},{"id":8,"distance":0.8,"source":"c"}],"topks":[2,1]}""");

        var hits = await client.SearchAsync("g", "proxy", [[1f, 0f], [0f, 1f]], 2, "COSINE", new Dictionary<string, string> { ["ef"] = "64" }, ["source"], MilvusVectorType.FloatVector, "gallery_version == \"1\"", Token);

        Assert.Equal(2, hits.Count);
        Assert.Equal([9007199254740991L, 7L], hits[0].Select(h => h.Id));
        Assert.Equal(0.91f, hits[0][0].Distance);
        Assert.Equal("a", hits[0][0].Fields["source"].GetString());
        Assert.Equal([8L], hits[1].Select(h => h.Id));
        var body = JsonNode.Parse(Assert.Single(handler.Requests).Body)!;
        Assert.Equal("[[1,0],[0,1]]", body["data"]!.ToJsonString());
        Assert.Equal("proxy", (string?)body["annsField"]);
        Assert.Equal(2, (int)body["limit"]!);
        Assert.Equal("""{"metricType":"COSINE","params":{"ef":64}}""", body["searchParams"]!.ToJsonString());
        Assert.Equal("gallery_version == \"1\"", (string?)body["filter"]);
        Assert.Equal("Strong", (string?)body["consistencyLevel"]);
    }

    [Fact]
    public async Task Search_AcceptsTheNestedReplyForm()
    {
        var (client, _, _) = Create(null, """{"code":0,"data":[[{"id":1,"distance":0.9}],[{"id":2,"distance":0.8},{"id":3,"distance":0.7}]]}""");

        var hits = await client.SearchAsync("g", "proxy", [[1f], [1f]], 2, "COSINE", new Dictionary<string, string>(), [], MilvusVectorType.FloatVector, null, Token);

        Assert.Equal([[1L], [2L, 3L]], hits.Select(h => h.Select(x => x.Id).ToArray()));
    }

    [Fact]
    public async Task Search_WithTopksThatDoNotFitTheHits_IsAnError()
    {
        var (client, _, _) = Create(null, """{"code":0,"data":[{"id":1,"distance":0.9}],"topks":[1,1]}""");

        var error = await Assert.ThrowsAsync<MilvusException>(() => client.SearchAsync("g", "proxy", [[1f], [1f]], 1, "COSINE", new Dictionary<string, string>(), [], MilvusVectorType.FloatVector, null, Token));

        Assert.Contains("topks", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_SplitsQueriesIntoBatches_InOrder()
    {
        var (client, handler, _) = Create(o => o.MaxQueriesPerSearch = 2,
            """{"code":0,"data":[{"id":1,"distance":1}, {"id":2,"distance":1}],"topks":[1,1]}""",
            """{"code":0,"data":[{"id":3,"distance":1}, {"id":4,"distance":1}],"topks":[1,1]}""",
            """{"code":0,"data":[{"id":5,"distance":1}],"topks":[1]}""");

        var hits = await client.SearchAsync("g", "proxy", [.. Enumerable.Range(0, 5).Select(i => new[] { (float)i })], 1, "COSINE", new Dictionary<string, string>(), [], MilvusVectorType.FloatVector, null, Token);

        Assert.Equal(3, handler.Requests.Count);
        Assert.Equal([1L, 2L, 3L, 4L, 5L], hits.Select(h => h.Single().Id));
        Assert.Equal(["[[0],[1]]", "[[2],[3]]", "[[4]]"], handler.Requests.Select(r => JsonNode.Parse(r.Body)!["data"]!.ToJsonString()));
    }

    [Fact]
    public async Task Query_AlwaysSendsALimit_AndDeleteSendsAnIdFilter()
    {
        var (client, handler, _) = Create(null, """{"code":0,"data":[{"id":5},{"id":"6"}]}""", """{"code":0,"data":{}}""");

        var rows = await client.QueryAsync("g", MilvusRestClient.IdFilter("id", [5, 6, 7]), ["id"], 3, Token);
        await client.DeleteAsync("g", MilvusRestClient.IdFilter("id", [5]), Token);

        Assert.Equal([5L, 6L], rows.Select(r => MilvusRestClient.ReadId(r.GetProperty("id"))));
        var query = JsonNode.Parse(handler.Requests[0].Body)!;
        Assert.Equal("id in [5,6,7]", (string?)query["filter"]);
        Assert.Equal(3, (int)query["limit"]!);
        Assert.Equal("""["id"]""", query["outputFields"]!.ToJsonString());
        Assert.EndsWith("/entities/delete", handler.Requests[1].Uri, StringComparison.Ordinal);
        Assert.Equal("id in [5]", (string?)JsonNode.Parse(handler.Requests[1].Body)!["filter"]);
    }

    [Fact]
    public async Task WaitForIndex_PollsUntilFinished_AndReportsAFailedBuild()
    {
        var (client, handler, _) = Create(null,
            """{"code":0,"data":[{"indexName":"proxy_index","indexState":"InProgress","totalRows":10,"indexedRows":4,"pendingRows":6}]}""",
            """{"code":0,"data":[{"indexName":"proxy_index","indexState":"Finished","totalRows":10,"indexedRows":10,"pendingRows":0}]}""");
        var state = await client.WaitForIndexAsync("g", "proxy_index", Token);
        Assert.Equal(10, state.IndexedRows);
        Assert.Equal(2, handler.Requests.Count);

        var (failing, _, _) = Create(null, """{"code":0,"data":[{"indexName":"proxy_index","indexState":"Failed","failReason":"dim mismatch"}]}""");
        var error = await Assert.ThrowsAsync<MilvusException>(() => failing.WaitForIndexAsync("g", "proxy_index", Token));
        Assert.Contains("dim mismatch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CandidateIndex_OnAFreshServer_CreatesIndexesAndLoads_InThatOrder()
    {
        var handler = new RecordingHandler(
            """{"code":0,"data":{"has":false}}""",
            """{"code":0,"data":{}}""",
            """{"code":0,"data":[{"indexName":"proxy_index","indexState":"Finished","totalRows":0,"indexedRows":0,"pendingRows":0}]}""",
            """{"code":0,"data":{}}""",
            """{"code":0,"data":{"loadState":"LoadStateLoaded","loadProgress":100}}""",
            """{"code":0,"data":{"upsertCount":1,"upsertIds":[42]}}""");
        var options = new MilvusOptions { Uri = "http://milvus.test:19530", Collection = "gallery_v1", VectorType = MilvusVectorType.Float16Vector, GalleryVersion = "2026-11" };
        var index = new MilvusCandidateIndex(new MilvusRestClient(new HttpClient(handler), options), options);

        await index.EnsureReadyAsync(4, Token);
        await index.UpsertAsync([new GalleryVector(42, "az://a/c/x.png", [0.5f, 0.5f, 0.5f, 0.5f])], Token);

        Assert.Equal(
            ["collections/has", "collections/create", "indexes/describe", "collections/load", "collections/get_load_state", "entities/upsert"],
            handler.Requests.Select(r => r.Uri["http://milvus.test:19530/v2/vectordb/".Length..]));
        var create = JsonNode.Parse(handler.Requests[1].Body)!;
        Assert.Equal("""{"fieldName":"proxy","dataType":"Float16Vector","elementTypeParams":{"dim":"4"}}""", create["schema"]!["fields"]![1]!.ToJsonString());
        var row = JsonNode.Parse(handler.Requests[5].Body)!["data"]![0]!;
        Assert.Equal(42, (long)row["id"]!);
        Assert.Equal("2026-11", (string?)row["gallery_version"]);
        Assert.Equal(8, Convert.FromBase64String((string)row["proxy"]!).Length);
        Assert.Null(handler.Requests[0].Authorization);
    }

    [Theory]
    [InlineData("ftp://x", "Icdiff:Milvus:Uri")]
    [InlineData("http://x", "Icdiff:Milvus:Collection", "1bad")]
    public void BadOptions_NameTheirKey(string uri, string key, string collection = "ok")
    {
        var error = Assert.Throws<ArgumentException>(() => new MilvusOptions { Uri = uri, Collection = collection }.Validate());

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GalleryCollection_UpsertsOneRowPerKey_WithStampAndLocator_InTheCollectionOfItsIndex()
    {
        var (client, handler, options) = Create(o => o.Collection = "audit", """{"code":0,"data":{"upsertCount":2}}""");
        var collection = new MilvusGalleryCollection(client, options, "gallery-index-a");

        await collection.UpsertAsync([new("cats/1.png", "s1", [0.6f, 0.8f], 5L << 40 | 3), new("cats/2.png", "s2", [1f, 0f], 7)], Token);

        var body = JsonNode.Parse(Assert.Single(handler.Requests).Body)!;
        Assert.Equal(collection.Name, (string?)body["collectionName"]);
        Assert.StartsWith("audit_", collection.Name, StringComparison.Ordinal);
        Assert.NotEqual(collection.Name, new MilvusGalleryCollection(client, options, "gallery-index-b").Name);
        var rows = body["data"]!.AsArray();
        Assert.Equal(MilvusGalleryCollection.IdOf("cats/1.png"), (long)rows[0]!["id"]!);
        Assert.NotEqual((long)rows[0]!["id"]!, (long)rows[1]!["id"]!);
        Assert.InRange((long)rows[0]!["id"]!, 0, GalleryIds.Limit - 1);
        Assert.Equal("cats/1.png", (string?)rows[0]!["gallery_key"]);
        Assert.Equal("s1", (string?)rows[0]!["stamp"]);
        Assert.Equal(5L << 40 | 3, (long)rows[0]!["locator"]!);
        Assert.Equal("[0.6,0.8]", rows[0]!["proxy"]!.ToJsonString());
    }

    [Fact]
    public async Task GalleryCollection_Search_AsksForKeyStampAndLocator_AndReadsThemPerQuery()
    {
        var (client, handler, options) = Create(
            o => o.IndexType = "HNSW",
            """{"code":0,"data":[{"id":1,"distance":0.9,"gallery_key":"a","stamp":"sa","locator":"1099511627777"},{"id":2,"distance":0.4,"gallery_key":"b","stamp":"sb","locator":2},{"id":3,"distance":0.7,"gallery_key":"c","stamp":"sc","locator":3}],"topks":[2,1]}""");
        var collection = new MilvusGalleryCollection(client, options, "idx");

        var hits = await collection.SearchAsync([[1f, 0f], [0f, 1f]], 300, Token);

        var body = JsonNode.Parse(Assert.Single(handler.Requests).Body)!;
        Assert.Equal("""["gallery_key","stamp","locator"]""", body["outputFields"]!.ToJsonString());
        Assert.Equal(300, (int)body["limit"]!);
        // HNSW returns at most ef hits: ef is raised to the limit asked for.
        Assert.Equal(300, (int)body["searchParams"]!["params"]!["ef"]!);
        Assert.Equal([new MilvusGalleryHit("a", "sa", (1L << 40) + 1, 0.9f), new MilvusGalleryHit("b", "sb", 2, 0.4f)], hits[0]);
        Assert.Equal([new MilvusGalleryHit("c", "sc", 3, 0.7f)], hits[1]);
    }

    [Fact]
    public async Task Probe_ListsCollections_Once_EvenWhenTheServerIsDown()
    {
        var (client, handler, _) = Create(null, "HTTP 503");

        var error = await Assert.ThrowsAsync<MilvusException>(() => client.ProbeAsync(Token));

        Assert.Equal("http://milvus.test:19530/v2/vectordb/collections/list", Assert.Single(handler.Requests).Uri);
        Assert.True(error.IsRetriable);
    }

    private sealed record RecordedRequest(string Uri, string Body, string? Authorization, string? ContentType, Dictionary<string, string> Headers);

    /// <summary>Records each request and answers with the next canned reply ("HTTP nnn" for a bare status).</summary>
    private sealed class RecordingHandler(params string[] replies) : HttpMessageHandler
    {
        private readonly Queue<string> _replies = new(replies);

        public List<RecordedRequest> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
            Requests.Add(new RecordedRequest(
                request.RequestUri!.ToString(),
                body,
                request.Headers.Authorization?.ToString(),
                request.Content?.Headers.ContentType?.MediaType,
                request.Headers.ToDictionary(h => h.Key, h => string.Join(',', h.Value))));
            Assert.Equal(HttpMethod.Post, request.Method);
            var reply = _replies.Count > 0 ? _replies.Dequeue() : throw new InvalidOperationException("no reply left for " + request.RequestUri);
            if (reply.StartsWith("HTTP ", StringComparison.Ordinal))
            {
                return new HttpResponseMessage((HttpStatusCode)int.Parse(reply[5..], System.Globalization.CultureInfo.InvariantCulture)) { Content = new StringContent("upstream says no") };
            }

            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(reply, Encoding.UTF8, "application/json") };
        }
    }
}
