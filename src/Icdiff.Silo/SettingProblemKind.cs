namespace Icdiff.Silo;

/// <summary>What <see cref="SiloSettingsCheck"/> found wrong with one setting.</summary>
public enum SettingProblemKind
{
    /// <summary>A value the silo refuses: it does not start (exit 2).</summary>
    Invalid,

    /// <summary>A key under <c>Icdiff:</c> that is no setting of the silo: a typo, or a setting of another program.</summary>
    Unknown,

    /// <summary>A setting of the silo that this silo, with its roles or hosting, never reads.</summary>
    NotRead,
}
