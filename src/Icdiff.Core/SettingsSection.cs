using System.Diagnostics.CodeAnalysis;

namespace Icdiff.Core;

/// <summary>An options section to check before a host starts: its key prefix, its options type and its rules.</summary>
public sealed record SettingsSection(
    string Name,
    [property: DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] Type Type,
    Func<object, IEnumerable<string>> Validate)
{
    /// <summary>A section whose options list all their problems at once.</summary>
    public static SettingsSection Listing<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(string name, Func<T, IEnumerable<string>> problems) =>
        new(name, typeof(T), o => problems((T)o));

    /// <summary>A section whose options throw <see cref="ArgumentException"/> at their first problem.</summary>
    public static SettingsSection Throwing<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(string name, Action<T> validate) =>
        new(name, typeof(T), o =>
        {
            try
            {
                validate((T)o);
                return [];
            }
            catch (ArgumentException ex)
            {
                return [ex.Message];
            }
        });
}
