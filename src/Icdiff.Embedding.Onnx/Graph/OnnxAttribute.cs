namespace Icdiff.Embedding.Onnx.Graph;

/// <summary>A node attribute: an integer or a list of integers (the only kinds our graphs use).</summary>
public sealed class OnnxAttribute
{
    private const int IntKind = 2;
    private const int IntsKind = 7;

    private readonly string _name;
    private readonly int _kind;
    private readonly long[] _ints;

    private OnnxAttribute(string name, int kind, long[] ints)
    {
        _name = name;
        _kind = kind;
        _ints = ints;
    }

    public static OnnxAttribute Number(string name, long value) => new(name, IntKind, [value]);

    public static OnnxAttribute Numbers(string name, params long[] values) => new(name, IntsKind, values);

    internal ProtoWriter ToProto()
    {
        var attribute = new ProtoWriter().String(1, _name);
        if (_kind == IntKind)
        {
            attribute.Varint(3, _ints[0]);
        }
        else
        {
            // Unpacked repeated int64: every ONNX reader accepts it.
            foreach (var v in _ints)
            {
                attribute.Varint(8, v);
            }
        }

        return attribute.Varint(20, _kind);
    }
}
