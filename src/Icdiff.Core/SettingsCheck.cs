using System.Collections;
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;

namespace Icdiff.Core;

/// <summary>
/// Checks that every setting under an options section parses as the type of the property it binds to, before any
/// binding happens. The configuration binder stops at the first value it cannot convert, with an exception that ends
/// a host's start as a stack trace; this names every bad key at once, one line each. Works on the flat key/value
/// pairs of a configuration (<c>IConfiguration.AsEnumerable()</c>), so it needs no configuration package here.
/// Keys that match no property are left alone: other components may read them.
/// </summary>
public static class SettingsCheck
{
    /// <summary>
    /// Every problem of every section, one message each: values that do not parse, and the rules of each section's
    /// options, checked on the options <paramref name="bind"/> builds from the settings that parse (a value that does
    /// not parse is left at its default there, so the other keys of its section are still checked).
    /// </summary>
    public static IReadOnlyList<string> Problems(IEnumerable<KeyValuePair<string, string?>> settings, IEnumerable<SettingsSection> sections, Func<SettingsSection, IEnumerable<KeyValuePair<string, string?>>, object?> bind)
    {
        var flat = settings.ToList();
        var problems = new List<string>();
        foreach (var section in sections)
        {
            var bad = BadKeys(flat, section.Name, section.Type).ToDictionary(p => p.Key, p => p.Message, StringComparer.OrdinalIgnoreCase);
            problems.AddRange(bad.Values);
            try
            {
                var parsed = flat.Where(s => !bad.ContainsKey(s.Key));
                problems.AddRange(section.Validate(bind(section, parsed) ?? Activator.CreateInstance(section.Type)!));
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
            {
                // The binder's own refusal (a shape this check does not model) or a rule that throws: still one line.
                problems.Add(ex.Message);
            }
        }

        return problems;
    }

    /// <summary>One message per key under <paramref name="section"/> whose value does not parse as its property's type.</summary>
    public static IEnumerable<string> ParseProblems(IEnumerable<KeyValuePair<string, string?>> settings, string section, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type optionsType) =>
        BadKeys(settings, section, optionsType).Select(b => b.Message);

    private static IEnumerable<(string Key, string Message)> BadKeys(IEnumerable<KeyValuePair<string, string?>> settings, string section, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type optionsType)
    {
        var prefix = section + ":";
        foreach (var (key, value) in settings.OrderBy(s => s.Key, StringComparer.OrdinalIgnoreCase))
        {
            if (value is null || !key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (TargetType(optionsType, key[prefix.Length..].Split(':')) is not { } target || Converts(target, value))
            {
                continue;
            }

            yield return (key, $"{key} {Expected(target)} (got {(LooksSecret(key) ? "a value that does not parse" : $"'{value}'")}).");
        }
    }

    /// <summary>The scalar type a key path binds to, or null when it names no scalar property (unknown keys, collections of objects).</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Options types are kept by their registrations; the CLI and silo are not trimmed.")]
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Options types are kept by their registrations; the CLI and silo are not trimmed.")]
    private static Type? TargetType(Type type, string[] path)
    {
        foreach (var segment in path)
        {
            if (IsScalar(type))
            {
                return null;
            }

            if (Generic(type, typeof(IDictionary<,>)) is { } dictionary)
            {
                type = dictionary.GetGenericArguments()[1];
                continue;
            }

            if (type.IsArray || Generic(type, typeof(IList<>)) is not null)
            {
                if (!int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    return null;
                }

                type = type.IsArray ? type.GetElementType()! : Generic(type, typeof(IList<>))!.GetGenericArguments()[0];
                continue;
            }

            var property = type.GetProperty(segment, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null || property.SetMethod is not { IsPublic: true } && !typeof(IEnumerable).IsAssignableFrom(property.PropertyType))
            {
                return null;
            }

            type = property.PropertyType;
        }

        return IsScalar(type) ? type : null;
    }

    private static Type? Generic(Type type, Type definition) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == definition ? type
        : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == definition);

    private static bool IsScalar(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan) || t == typeof(Uri) || t == typeof(DateTimeOffset) || t == typeof(DateTime) || t == typeof(Guid);
    }

    /// <summary>Whether the binder will convert the value: it uses the type's converter with the invariant culture, as here.</summary>
    private static bool Converts(Type type, string value)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string) || (t != type && value.Length == 0))
        {
            return true;
        }

        try
        {
            _ = TypeDescriptor.GetConverter(t).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or NotSupportedException or OverflowException || ex.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    private static string Expected(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t switch
        {
            _ when t == typeof(int) => $"must be a whole number from {int.MinValue} to {int.MaxValue}",
            _ when t == typeof(long) => "must be a whole number (64-bit)",
            _ when t == typeof(double) || t == typeof(float) || t == typeof(decimal) => "must be a number",
            _ when t == typeof(bool) => "must be true or false",
            _ when t == typeof(TimeSpan) => "must be a time span such as 00:00:30 (hh:mm:ss)",
            _ when t == typeof(Uri) => "must be a URI",
            _ when t.IsEnum => $"must be one of {string.Join(", ", Enum.GetNames(t))}",
            _ => $"must be a {t.Name}",
        };
    }

    /// <summary>Values of keys that may hold credentials are never repeated in a message.</summary>
    private static bool LooksSecret(string key) =>
        key.Contains("ConnectionString", StringComparison.OrdinalIgnoreCase) || key.Contains("Key", StringComparison.OrdinalIgnoreCase)
        || key.Contains("Token", StringComparison.OrdinalIgnoreCase) || key.Contains("Password", StringComparison.OrdinalIgnoreCase)
        || key.Contains("Secret", StringComparison.OrdinalIgnoreCase) || key.Contains("Postgres", StringComparison.OrdinalIgnoreCase)
        || key.Contains("Redis", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Options validation that names every problem at once rather than stopping at the first.</summary>
public static class SettingsProblems
{
    /// <summary>Throws one <see cref="ArgumentException"/> listing <paramref name="problems"/>, one per line, if there are any.</summary>
    public static void ThrowIfAny(IEnumerable<string> problems)
    {
        var list = problems.ToList();
        if (list.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, list));
        }
    }
}
