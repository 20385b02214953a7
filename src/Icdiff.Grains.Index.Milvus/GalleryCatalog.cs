using System.Text;

namespace Icdiff.Grains.Index.Milvus;

/// <summary>
/// What the coordinator of a Milvus-backed gallery index remembers of each entry: key, stamp and the locator of its
/// tokens. Milvus holds the proxies and answers searches; this list (a few dozen bytes an entry, no vectors) is what
/// incremental passes compare listings against and what a seal drops vanished entries from.
/// </summary>
internal sealed class GalleryCatalog(int tokens, int dim)
{
    private const string Magic = "ICDIFF-CATALOG-1";
    private readonly List<string> _keys = [];
    private readonly List<string> _stamps = [];
    private readonly List<long> _locators = [];

    public int Tokens => tokens;

    public int Dim => dim;

    public int Count => _keys.Count;

    public string KeyOf(int i) => _keys[i];

    public string StampOf(int i) => _stamps[i];

    public void Add(string key, string stamp, long locator)
    {
        _keys.Add(key);
        _stamps.Add(stamp);
        _locators.Add(locator);
    }

    /// <summary>Keeps the entries <paramref name="keep"/> accepts, in order; returns how many went.</summary>
    public int Retain(Func<int, bool> keep)
    {
        var kept = 0;
        for (var i = 0; i < _keys.Count; i++)
        {
            if (keep(i))
            {
                _keys[kept] = _keys[i];
                _stamps[kept] = _stamps[i];
                _locators[kept] = _locators[i];
                kept++;
            }
        }

        var removed = _keys.Count - kept;
        _keys.RemoveRange(kept, removed);
        _stamps.RemoveRange(kept, removed);
        _locators.RemoveRange(kept, removed);
        return removed;
    }

    public void Save(string path)
    {
        using var writer = new BinaryWriter(File.Create(path), Encoding.UTF8);
        writer.Write(Magic);
        writer.Write(tokens);
        writer.Write(dim);
        writer.Write(_keys.Count);
        for (var i = 0; i < _keys.Count; i++)
        {
            writer.Write(_keys[i]);
            writer.Write(_stamps[i]);
            writer.Write(_locators[i]);
        }

        writer.Flush();
        ((FileStream)writer.BaseStream).Flush(flushToDisk: true);
    }

    public static GalleryCatalog Load(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        try
        {
            if (reader.ReadString() != Magic)
            {
                throw new InvalidDataException($"'{path}' is not a gallery catalog.");
            }

            var catalog = new GalleryCatalog(reader.ReadInt32(), reader.ReadInt32());
            var count = reader.ReadInt32();
            if (count < 0 || catalog.Tokens < 1 || catalog.Dim < 1)
            {
                throw new InvalidDataException($"gallery catalog '{path}' has a damaged header.");
            }

            for (var i = 0; i < count; i++)
            {
                catalog.Add(reader.ReadString(), reader.ReadString(), reader.ReadInt64());
            }

            return catalog;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException($"gallery catalog '{path}' ends early.", ex);
        }
    }
}
