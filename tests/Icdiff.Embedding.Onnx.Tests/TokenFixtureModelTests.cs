using Icdiff.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace Icdiff.Embedding.Onnx.Tests;

public sealed class TokenFixtureModelTests
{
    private static float[] Images(int count, int seed)
    {
        var random = new Random(seed);
        var size = BuiltinDescriptorModel.InputSize;
        var data = new float[count * 3 * size * size];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)((random.NextDouble() * 4) - 2);
        }

        return data;
    }

    [Theory]
    [InlineData(TokenFixture.Views)]
    [InlineData(TokenFixture.Regions)]
    public void Fixture_GivesSixUnitTokens_WhoseFirstIsTheBuiltinDescriptorOfTheWholeImage(TokenFixture fixture)
    {
        const int N = 3;
        var manifest = TokenFixtureModel.CreateManifest(fixture, "fixture");
        using var tokens = new OnnxEmbedder(manifest, TokenFixtureModel.BuildOnnx(fixture), new OnnxOptions(), NullLogger.Instance);
        using var builtin = new OnnxEmbedder(BuiltinDescriptorModel.CreateManifest("builtin"), BuiltinDescriptorModel.BuildOnnx(), new OnnxOptions(), NullLogger.Instance);
        var input = Images(N, 3);
        var d = TokenFixtureModel.Dim;
        var output = new float[N * TokenFixtureModel.Tokens * d];
        var reference = new float[N * d];

        tokens.Embed(input, N, output);
        builtin.Embed(input, N, reference);

        for (var i = 0; i < N; i++)
        {
            var image = output.AsSpan(i * 6 * d, 6 * d);
            for (var k = 0; k < 6; k++)
            {
                var token = image.Slice(k * d, d);
                Assert.Equal(1f, MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(token, token)), 3);
            }

            // Token 0 of image i is the whole-image descriptor of image i: the [6N] -> [N, 6] reshuffle keeps images apart.
            Assert.Equal(1f, System.Numerics.Tensors.TensorPrimitives.Dot(image[..d], reference.AsSpan(i * d, d)), 4);
            Assert.True(System.Numerics.Tensors.TensorPrimitives.Dot(image[..d], image.Slice(5 * d, d)) < 0.999f, "views must differ");
        }

        Assert.IsType<MaxTokenCosineRule>(manifest.Scoring);
    }
}
