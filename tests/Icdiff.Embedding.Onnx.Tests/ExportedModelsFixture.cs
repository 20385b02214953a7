namespace Icdiff.Embedding.Onnx.Tests;

/// <summary>
/// Exports both architectures once per test run with random weights (traced at batch 2, checked at batch 3, which
/// proves the batch axis dynamic): PDF-Embedding from a checkpoint written in the official layout (keys under
/// module.base.0., wrapped in {'state_dict': ...}), SSCD from random init.
/// </summary>
public sealed class ExportedModelsFixture : IDisposable
{
    public ExportedModelsFixture()
    {
        SkipReason = PythonTools.MissingReason;
        if (SkipReason is not null)
        {
            return;
        }

        var timeout = TimeSpan.FromMinutes(8);
        var checkpoint = Path.Combine(Root, "vit_random.pth.tar");
        var write = PythonTools.Run(timeout, "-c", $$$"""
            import sys, torch
            sys.path.insert(0, '{{{Path.Combine(PythonTools.RepositoryRoot, "tools", "models")}}}')
            import icdiff_models as m
            model = m.PdfEmbeddingViT(); m.randomise(model, 3)
            torch.save({'epoch': 760, 'state_dict': {'module.base.0.' + k: v for k, v in model.state_dict().items()}}, '{{{checkpoint}}}')
            bad = {'module.base.0.' + k: v for k, v in model.state_dict().items() if not k.startswith('blocks.11.')}
            bad['module.base.0.extra_head.weight'] = torch.zeros(2)
            torch.save({'state_dict': bad}, '{{{BadCheckpoint}}}')
            """);
        Assert.True(write.ExitCode == 0, write.Stderr);

        PdfExport = PythonTools.Run(timeout, PythonTools.Script("export_pdf_embedding.py"), "--checkpoint", checkpoint, "--out", PdfDirectory, "--reference", "3", "--seed", "3");
        SscdExport = PythonTools.Run(timeout, PythonTools.Script("export_sscd.py"), "--random-init", "--seed", "4", "--out", SscdDirectory, "--reference", "3");
    }

    public string Root { get; } = Directory.CreateTempSubdirectory("icdiff-models-").FullName;

    public string? SkipReason { get; }

    public string PdfDirectory => Path.Combine(Root, "pdf");

    public string SscdDirectory => Path.Combine(Root, "sscd");

    public string BadCheckpoint => Path.Combine(Root, "bad.pth.tar");

    public (int ExitCode, string Stdout, string Stderr) PdfExport { get; }

    public (int ExitCode, string Stdout, string Stderr) SscdExport { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Temporary files only.
        }
    }
}
