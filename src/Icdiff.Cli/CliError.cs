namespace Icdiff.Cli;

/// <summary>A problem with what the user asked for: printed as one line, exit code 2, no stack trace.</summary>
internal sealed class CliError : Exception
{
    public CliError()
    {
    }

    public CliError(string message)
        : base(message)
    {
    }

    public CliError(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
