namespace Icdiff.Cli.Tests.Deployment;

/// <summary>A chart that Helm would refuse to render: a <c>fail</c>, a nil field, a malformed action.</summary>
internal sealed class HelmTemplateException(string message) : Exception(message);
