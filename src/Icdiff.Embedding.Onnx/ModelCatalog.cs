using System.Collections.Concurrent;
using Icdiff.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Embedding.Onnx;

/// <summary>
/// Loads models by manifest path (or "builtin") and keeps one session per model for the life of the process:
/// sessions are expensive to create and safe to share across threads.
/// </summary>
public sealed partial class ModelCatalog(IOptions<OnnxOptions> options, ILoggerFactory loggerFactory) : IEmbedderProvider, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<IEmbedder>> _models = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggerFactory.CreateLogger<ModelCatalog>();

    public IEmbedder Get(string manifestPath)
    {
        var key = IsBuiltin(manifestPath) ? BuiltinDescriptorModel.ManifestPathAlias : Path.GetFullPath(manifestPath);
        var lazy = _models.GetOrAdd(key, k => new Lazy<IEmbedder>(() => Load(k), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            // A failed load is not cached: the user may fix the file and retry in the same process.
            _models.TryRemove(new KeyValuePair<string, Lazy<IEmbedder>>(key, lazy));
            throw;
        }
    }

    public static bool IsBuiltin(string? manifestPath) =>
        string.IsNullOrWhiteSpace(manifestPath) || manifestPath == BuiltinDescriptorModel.ManifestPathAlias;

    /// <summary>Reads and validates a manifest without loading the model.</summary>
    public static ModelManifest ReadManifest(string manifestPath)
    {
        if (IsBuiltin(manifestPath))
        {
            return BuiltinDescriptorModel.CreateManifest(BuiltinDescriptorModel.ManifestPathAlias);
        }

        var full = Path.GetFullPath(manifestPath);
        if (!File.Exists(full))
        {
            throw new ModelManifestException($"model manifest '{manifestPath}' does not exist.");
        }

        return ModelManifestJson.Parse(File.ReadAllText(full), manifestPath, Path.GetDirectoryName(full)!);
    }

    public void Dispose()
    {
        foreach (var lazy in _models.Values)
        {
            if (lazy.IsValueCreated)
            {
                lazy.Value.Dispose();
            }
        }
    }

    private IEmbedder Load(string key)
    {
        var opts = options.Value;
        opts.Validate();
        var manifest = ReadManifest(key);
        byte[] bytes;
        if (key == BuiltinDescriptorModel.ManifestPathAlias)
        {
            bytes = BuiltinDescriptorModel.BuildOnnx();
        }
        else if (!File.Exists(manifest.OnnxPath))
        {
            throw new ModelManifestException($"model manifest '{key}': onnx file '{manifest.OnnxPath}' does not exist.");
        }
        else
        {
            bytes = File.ReadAllBytes(manifest.OnnxPath);
        }

        var embedder = new OnnxEmbedder(manifest, bytes, opts, _logger);
        if (_logger.IsEnabled(LogLevel.Information))
        {
            Log.ModelLoaded(_logger, manifest.Name, embedder.Fingerprint, manifest.Scoring.Describe());
        }
        return embedder;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EmbeddingEventIds.ModelLoaded, Level = LogLevel.Information, Message = "Loaded model {Model} (fingerprint {Fingerprint}); scoring {Scoring}")]
        public static partial void ModelLoaded(ILogger logger, string model, string fingerprint, string scoring);
    }
}
