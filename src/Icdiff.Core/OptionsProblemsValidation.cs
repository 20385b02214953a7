using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Icdiff.Core;

/// <summary>Options that know their own rules: every broken one, one message each naming its key.</summary>
public interface ISelfCheckingOptions
{
    IEnumerable<string> Problems();
}

/// <summary>
/// Validates options by their own rules and fails with all of their problems, not the first: a user fixing a
/// configuration sees every bad key in one start, as <see cref="SettingsCheck"/> reports unparsable values.
/// </summary>
public sealed class SelfCheckingOptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : class, ISelfCheckingOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var problems = options.Problems().ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

public static class SelfCheckingOptionsBuilderExtensions
{
    /// <summary>Checks the options by <see cref="ISelfCheckingOptions.Problems"/> when the host starts, not when first read.</summary>
    public static OptionsBuilder<TOptions> ValidateAllProblemsOnStart<TOptions>(this OptionsBuilder<TOptions> builder)
        where TOptions : class, ISelfCheckingOptions
    {
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, SelfCheckingOptionsValidator<TOptions>>());
        return builder.ValidateOnStart();
    }
}
