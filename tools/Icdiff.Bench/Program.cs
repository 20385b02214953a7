using Icdiff.Bench;
using Icdiff.Cli;

return await CommandLineEntry.InvokeAsync(BenchCommand.CreateRoot(), "icdiff-bench", args);
