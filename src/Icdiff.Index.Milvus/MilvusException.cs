namespace Icdiff.Index.Milvus;

/// <summary>
/// Milvus refused a request: <see cref="Code"/> and the server's message as it gave them (HTTP status is 200 for
/// application errors; the code says what happened), or a transport failure with code -1 and the HTTP status.
/// </summary>
public sealed class MilvusException : Exception
{
    /// <summary>Codes the server marks retriable: not ready, unavailable, request/rate limits, not fully loaded.</summary>
    private static readonly int[] RetriableCodes = [1, 2, 4, 8, 103, 202];

    public MilvusException()
    {
    }

    public MilvusException(string message)
        : base(message)
    {
    }

    public MilvusException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MilvusException(string endpoint, int code, string serverMessage, int httpStatus = 200, Exception? innerException = null)
        : base($"Milvus {endpoint} failed: code {code}: {serverMessage}", innerException)
    {
        Endpoint = endpoint;
        Code = code;
        ServerMessage = serverMessage;
        HttpStatus = httpStatus;
    }

    public string Endpoint { get; } = string.Empty;

    public int Code { get; } = -1;

    public string ServerMessage { get; } = string.Empty;

    public int HttpStatus { get; } = 200;

    /// <summary>Some server builds OR a "retriable" flag into the high bits; the low 16 bits carry the code.</summary>
    public int BaseCode => Code < 0 ? Code : Code & 0xFFFF;

    public bool IsRetriable => Code < 0
        ? HttpStatus is 0 or 408 or 429 or >= 500
        : RetriableCodes.Contains(BaseCode);

    public bool IsCollectionNotFound => BaseCode == 100;
}
