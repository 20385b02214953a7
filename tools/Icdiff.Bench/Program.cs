using Icdiff.Bench;

return await CommandLineEntry.InvokeAsync(BenchCommand.CreateRoot(), "icdiff-bench", args);
