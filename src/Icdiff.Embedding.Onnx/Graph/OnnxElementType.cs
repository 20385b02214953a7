namespace Icdiff.Embedding.Onnx.Graph;

/// <summary>The tensor element types our graphs declare (values of onnx.TensorProto.DataType).</summary>
public enum OnnxElementType
{
    SinglePrecision = 1,
    HalfPrecision = 10,
}
