using System.CommandLine;
using System.Globalization;
using Icdiff.Core;
using Icdiff.Embedding.Onnx;
using Microsoft.Extensions.DependencyInjection;

namespace Icdiff.Cli.Commands;

/// <summary>Model housekeeping: validate a manifest against its ONNX graph; export the built-in model.</summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var manifest = new Argument<string>("manifest") { Description = "Model manifest (JSON)." };
        var validate = new Command("validate", "Load a manifest and its ONNX model, run a test batch and check the output shape.") { manifest };
        validate.SetAction((parse, ct) => CommandHost.RunAsync(() => Task.FromResult(Validate(parse.GetValue(manifest)!))));

        var outDir = new Option<string>("--out") { Description = "Folder for model.onnx and model.json.", Required = true };
        var export = new Command("export-builtin", "Write the built-in model as model.onnx plus model.json, e.g. as a starting point for calibration.") { outDir };
        export.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var directory = Path.GetFullPath(parse.GetValue(outDir)!);
            Directory.CreateDirectory(directory);
            var onnx = Path.Combine(directory, "model.onnx");
            await File.WriteAllBytesAsync(onnx, BuiltinDescriptorModel.BuildOnnx(), ct);
            await File.WriteAllTextAsync(Path.Combine(directory, "model.json"), ModelManifestJson.Serialize(BuiltinDescriptorModel.CreateManifest(onnx), directory), ct);
            Console.WriteLine($"Wrote {onnx} and model.json");
            return 0;
        }));

        return new Command("model", "Inspect, validate and export detection models.") { validate, export };
    }

    private static int Validate(string manifestPath)
    {
        var manifest = ModelCatalog.ReadManifest(manifestPath);
        using var services = CliServices.CreateWorkerServices();
        var embedder = services.GetRequiredService<ModelCatalog>().Get(manifestPath);
        const int Batch = 2;
        var random = new Random(1);
        var input = new float[Batch * manifest.Preprocess.TensorLength];
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = (float)((random.NextDouble() * 4) - 2);
        }

        var output = new float[Batch * manifest.EmbeddingLength];
        try
        {
            embedder.Embed(input, Batch, output);
        }
        catch (InvalidOperationException ex)
        {
            throw new CliError($"model '{manifestPath}' does not run as its manifest describes: {ex.Message}", ex);
        }

        if (!EmbeddingMath.IsFinite(output))
        {
            throw new CliError($"model '{manifestPath}' produced NaN or infinite values on a test batch.");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{manifest.Name}: OK. input {manifest.InputName} [N,3,{manifest.Preprocess.Height},{manifest.Preprocess.Width}] ({manifest.Preprocess.Resize}), output {manifest.OutputName} [N,{(manifest.OutputTokens > 1 ? $"{manifest.OutputTokens}," : string.Empty)}{manifest.OutputDim}], {manifest.Scoring.Describe()}, fingerprint {embedder.Fingerprint}"));
        return 0;
    }
}
