namespace Icdiff.Silo;

/// <summary>
/// One problem with the silo's configuration. <see cref="Message"/> names the configuration key and never quotes the
/// value (it may be a secret).
/// </summary>
public sealed record SettingProblem(SettingProblemKind Kind, string Key, string Message);
