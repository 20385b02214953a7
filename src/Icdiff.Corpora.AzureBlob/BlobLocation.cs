using Icdiff.Core;

namespace Icdiff.Corpora.AzureBlob;

/// <summary>An az://account/container[/prefix] location, parsed and checked.</summary>
public sealed record BlobLocation(string Account, string Container, string Prefix)
{
    public const string Scheme = "az://";

    public static bool IsBlobUri(string value) => value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a location; the prefix, when present, always ends with '/' so it selects a folder, not a name stem.</summary>
    public static BlobLocation Parse(string value)
    {
        if (!IsBlobUri(value))
        {
            throw new CorpusException($"'{value}' is not an az://account/container[/prefix] location.");
        }

        var rest = value[Scheme.Length..];
        var parts = rest.Split('/', 3);
        if (parts.Length < 2 || parts[0].Length is < 3 or > 24 || !parts[0].All(char.IsAsciiLetterOrDigit)
            || parts[1].Length is < 3 or > 63 || !parts[1].All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            throw new CorpusException($"'{value}' is not an az://account/container[/prefix] location (account 3-24 letters or digits, container 3-63 lower-case letters, digits or '-').");
        }

        var prefix = parts.Length == 3 ? parts[2].Trim('/') : string.Empty;
        return new BlobLocation(parts[0], parts[1], prefix.Length == 0 ? string.Empty : prefix + "/");
    }

    /// <summary>Splits az://account/container/blob-name into the container location and the blob name.</summary>
    public static (BlobLocation Container, string BlobName) ParseBlob(string value)
    {
        var location = Parse(value);
        if (location.Prefix.Length == 0)
        {
            throw new ItemReadException(SkipReason.ReadFailed, $"'{value}' names a container, not a blob");
        }

        return (location with { Prefix = string.Empty }, location.Prefix.TrimEnd('/'));
    }

    public override string ToString() => $"{Scheme}{Account}/{Container}/{Prefix}";
}
