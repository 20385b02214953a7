using System.Runtime.InteropServices;

namespace Icdiff.Embedding.Onnx.Graph;

/// <summary>
/// Builds a small ONNX model (IR 8, opset 17) in memory: float inputs and outputs, initialisers and nodes.
/// Used for the built-in descriptor and for test models; field numbers follow onnx.proto.
/// </summary>
public sealed class OnnxModelBuilder(string graphName)
{
    private const long IrVersion = 8;
    private const long Opset = 17;
    private const int FloatType = (int)OnnxElementType.SinglePrecision;
    private const int Int64Type = 7;

    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly List<ProtoWriter> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private int _nodeCount;

    /// <summary>A float tensor input or output; a null dimension is the symbolic batch axis "N".</summary>
    public OnnxModelBuilder Input(string name, params long?[] dims) => Input(name, OnnxElementType.SinglePrecision, dims);

    public OnnxModelBuilder Input(string name, OnnxElementType type, params long?[] dims)
    {
        _inputs.Add(ValueInfo(name, type, dims));
        return this;
    }

    public OnnxModelBuilder Output(string name, params long?[] dims) => Output(name, OnnxElementType.SinglePrecision, dims);

    public OnnxModelBuilder Output(string name, OnnxElementType type, params long?[] dims)
    {
        _outputs.Add(ValueInfo(name, type, dims));
        return this;
    }

    public OnnxModelBuilder Initializer(string name, long[] dims, float[] values)
    {
        var tensor = new ProtoWriter();
        foreach (var d in dims)
        {
            tensor.Varint(1, d);
        }

        tensor.Varint(2, FloatType).String(8, name).Bytes(9, MemoryMarshal.AsBytes(values.AsSpan()));
        _initializers.Add(tensor);
        return this;
    }

    public OnnxModelBuilder Int64Initializer(string name, long[] values)
    {
        var tensor = new ProtoWriter()
            .Varint(1, values.Length)
            .Varint(2, Int64Type)
            .String(8, name)
            .Bytes(9, MemoryMarshal.AsBytes(values.AsSpan()));
        _initializers.Add(tensor);
        return this;
    }

    public OnnxModelBuilder Node(string opType, string[] inputs, string[] outputs, params OnnxAttribute[] attributes)
    {
        var node = new ProtoWriter();
        foreach (var i in inputs)
        {
            node.String(1, i);
        }

        foreach (var o in outputs)
        {
            node.String(2, o);
        }

        node.String(3, $"{opType}_{_nodeCount++}").String(4, opType);
        foreach (var a in attributes)
        {
            node.Message(5, a.ToProto());
        }

        _nodes.Add(node);
        return this;
    }

    public byte[] Build(string producer, string docString)
    {
        var graph = new ProtoWriter();
        foreach (var n in _nodes)
        {
            graph.Message(1, n);
        }

        graph.String(2, graphName);
        foreach (var t in _initializers)
        {
            graph.Message(5, t);
        }

        foreach (var i in _inputs)
        {
            graph.Message(11, i);
        }

        foreach (var o in _outputs)
        {
            graph.Message(12, o);
        }

        var opset = new ProtoWriter().String(1, string.Empty).Varint(2, Opset);
        return new ProtoWriter()
            .Varint(1, IrVersion)
            .String(2, producer)
            .String(6, docString)
            .Message(7, graph)
            .Message(8, opset)
            .ToArray();
    }

    private static ProtoWriter ValueInfo(string name, OnnxElementType type, long?[] dims)
    {
        var shape = new ProtoWriter();
        foreach (var d in dims)
        {
            var dim = d is { } value ? new ProtoWriter().Varint(1, value) : new ProtoWriter().String(2, "N");
            shape.Message(1, dim);
        }

        var tensorType = new ProtoWriter().Varint(1, (int)type).Message(2, shape);
        var typeProto = new ProtoWriter().Message(1, tensorType);
        return new ProtoWriter().String(1, name).Message(2, typeProto);
    }
}
